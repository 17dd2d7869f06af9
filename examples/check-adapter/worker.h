/* Code under test: squares a number in a worker process. */
#ifndef WORKER_H
#define WORKER_H

/* Both fork a worker that computes x*x and sends it back through a pipe.
 * square_buggy() returns as soon as it has the answer and never waits for
 * the worker, which stays a zombie; square_fixed() reaps it. */
int square_buggy(int x);
int square_fixed(int x);

#endif
