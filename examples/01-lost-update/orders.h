/* An order-number allocator backed by a small file, as many shops have one:
 * the file holds the last number handed out, in decimal. Several worker
 * processes take numbers from it at once. next_order_number() is where the
 * buggy and the fixed program differ. */
#ifndef ORDERS_H
#define ORDERS_H

/* Hands out the next order number from the file at path, or -1 on error. */
long next_order_number(const char *path);

/* The whole program: the workers place their orders, the parent checks
 * them; 0, or 1 (with a message) when a number went to two orders. */
int run_shop(void);

#endif
