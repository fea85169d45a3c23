# e1_memory.gp - E1 (a): counted peak memory (the exact counting allocator,
# EXPERIMENTS E1) vs sequence length, one panel per hidden size.
ycol = 11; yscale = 1.0 / 1048576
ylab = "counted peak heap [MiB]"
what = "E1 peak memory (counting allocator)"
load "plots/e1_grid.gp"
