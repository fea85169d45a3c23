# e1_tradeoff.gp - E1/E5 (c): what checkpointing buys for its memory. Time
# of one training step against the counted peak memory, for each
# checkpointing schedule at every budget K measured, at hidden = th and
# sequence length ts (set by the Makefile); exact BPTT and BRUNO at the
# same point as single markers. Reads `data` (the merged memtime CSV).
if (!exists("data")) data = "results/e1_memtime.csv"
if (!exists("th")) th = 128
if (!exists("ts")) ts = 100
W = 1100; H = 720
load "plots/common.gp"
rows(m, sc) = sprintf("< awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\" && $4 == \"felif\" && $5 == %d && $7 == %g' %s | sort -t, -k3,3n", m, sc, th, ts, data)
nfine = system("awk -F, 'NR > 1 && $4 == \"felif\" {print $9; exit}' " . data)
MiB = 1048576.0
set title sprintf("E1: time vs memory of one training step, FeLIF hidden = %d, %g ms, N = %s\n(labels: checkpoints K; within a network step for binomial and uniform, over the whole sequence for \"sequence\")", th, ts, nfine)
set logscale xy
set format x "%g"
set xlabel "counted peak heap [MiB]"
set ylabel "time per training step [s]"
set key top right opaque box
set offsets graph 0.05, graph 0.1, graph 0.1, graph 0.1
plot rows("checkpoint", "binomial") using ($11/MiB):16 with linespoints lw 2 pt 5 ps 1.2 lc rgb "#1f77b4" title "checkpointing, binomial (revolve) per network step", \
     ''                             using ($11/MiB):16:(sprintf("%d", $3)) with labels offset char 0,1 tc rgb "#1f77b4" font ",9" notitle, \
     rows("checkpoint", "uniform")  using ($11/MiB):16 with linespoints lw 2 dt 2 pt 4 ps 1.2 lc rgb "#17becf" title "checkpointing, uniform per network step", \
     ''                             using ($11/MiB):16:(sprintf("%d", $3)) with labels offset char 0,-1 tc rgb "#17becf" font ",9" notitle, \
     rows("checkpoint", "sequence") using ($11/MiB):16 with linespoints lw 2 pt 13 ps 1.2 lc rgb "#9467bd" title "checkpointing over the sequence (revolve)", \
     ''                             using ($11/MiB):16:(sprintf("%d", $3)) with labels offset char 1.2,0.6 tc rgb "#9467bd" font ",9" notitle, \
     rows("bptt", "")  using ($11/MiB):16 with points pt 7 ps 2.2 lc rgb "#d62728" title "exact BPTT (every fine step stored)", \
     rows("bruno", "") using ($11/MiB):16 with points pt 9 ps 2.5 lc rgb "#2ca02c" title "BRUNO"
