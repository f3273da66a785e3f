/* A leaf library: which copy got loaded is told by the value LEAF was compiled with. */
#ifndef LEAF
#define LEAF 1
#endif
int leaf(void) { return LEAF; }
