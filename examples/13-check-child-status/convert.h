/* A batch converter: one child process per input file turns "key = value"
 * settings into JSON. The parser (parse_line) and how the parent looks at
 * its children (convert_all) are where the buggy and the fixed program
 * differ. */
#ifndef CONVERT_H
#define CONVERT_H

#define NFILES 3
extern const char *const inputs[NFILES][4];   /* each file's lines */

/* Splits "key = value" in place; 0, or -1 if the line is not a setting. */
int parse_line(char *line, char **key, char **value);
/* Converts file i, printing JSON (the child's part); its exit code. */
int convert_file(int i);
/* Converts every file, one child each; the program's exit code. */
int convert_all(void);

#endif
