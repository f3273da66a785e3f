#include <stdio.h>
int mid(void);
int main(void) { printf("%d\n", mid()); return 0; }
