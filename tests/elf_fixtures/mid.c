/* A library in the middle of a chain: it needs libleaf.so, found through its loaders' paths. */
int leaf(void);
int mid(void) { return leaf() + 100; }
