#include <stdio.h>
int leaf(void);
int main(void) { printf("%d\n", leaf()); return 0; }
