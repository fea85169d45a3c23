# e1_tradeoff.gp - E1/E5 (c): what checkpointing buys for its memory. Time
# of one training step against the counted peak memory, for each
# checkpointing schedule at every budget K measured, at hidden = th and
# sequence length ts (set by the Makefile); exact BPTT and BRUNO at the
# same point as single markers. Reads `data` (the merged memtime CSV).
# Left: absolute peaks. Right: the same runs against the memory they need
# beyond BRUNO's peak (on a log axis the checkpointing schedules sit within
# a few per cent of BRUNO's peak and would overlap). The keys sit below the
# panels: inside, an opaque key hid exact BPTT's point (the slowest and
# largest, so always in the top right corner).
if (!exists("data")) data = "results/e1_memtime.csv"
if (!exists("th")) th = 128
if (!exists("ts")) ts = 100
W = 1650; H = 760
load "plots/common.gp"
rows(m, sc) = sprintf("< awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\" && $4 == \"felif\" && $5 == %d && $7 == %g' %s | sort -t, -k3,3n", m, sc, th, ts, data)
# numbers printed with a decimal point: gnuplot's real() refuses the CSV's "3e-05"
first(m, col) = system(substr(rows(m, ""), 3, 10000) . sprintf(" | awk -F, 'NR == 1 {printf \"%%.9e\\n\", $%d}'", col))
nfine = system("awk -F, 'NR > 1 && $4 == \"felif\" {print $9; exit}' " . data)
bruno_peak = real(first("bruno", 11))
bruno_time = real(first("bruno", 16))
tmax = real(system(sprintf("awk -F, 'NR > 1 && $4 == \"felif\" && $5 == %d && $7 == %g && $16 > m {m = $16} END {printf \"%%.9e\\n\", m}' %s", th, ts, data)))
MiB = 1048576.0
KiB = 1024.0
set multiplot layout 1,2 title sprintf("E1: time against memory of one training step, FeLIF hidden = %d, %g ms of network time, N = %s. Point labels: checkpoints K (within each network step for binomial and uniform, over the whole sequence for \"sequence\")", th, ts, nfine) font ",12"
set logscale xy
set format x "%g"
set ylabel "time per training step [s]"
set offsets graph 0.05, graph 0.1, 0, 0
set yrange [bruno_time / 1.6 : tmax * 1.6]
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
set title "counted peak heap"
set xlabel "counted peak heap [MiB]"
set key below box height 1.5
plot rows("checkpoint", "binomial") using ($11/MiB):16 with linespoints lw 2 pt 5 ps 1.2 lc rgb "#1f77b4" title "checkpointing, binomial (revolve) per network step", \
     rows("checkpoint", "uniform")  using ($11/MiB):16 with linespoints lw 2 dt 2 pt 4 ps 1.2 lc rgb "#17becf" title "checkpointing, uniform per network step", \
     rows("checkpoint", "sequence") using ($11/MiB):16 with linespoints lw 2 pt 13 ps 1.2 lc rgb "#9467bd" title "checkpointing over the sequence (revolve)", \
     rows("bptt", "")  using ($11/MiB):16 with points pt 7 ps 2.2 lc rgb "#d62728" title "exact BPTT (every fine step stored)", \
     rows("bruno", "") using ($11/MiB):16 with points pt 9 ps 2.5 lc rgb "#2ca02c" title "BRUNO"
set title sprintf("the same runs: memory beyond BRUNO's peak (%.3f MiB)", bruno_peak / MiB)
set xlabel "counted peak heap - BRUNO's counted peak [KiB]"
set key below box height 1.5
set format x "10^{%T}"
plot rows("checkpoint", "binomial") using (($11 - bruno_peak)/KiB):16 with linespoints lw 2 pt 5 ps 1.2 lc rgb "#1f77b4" title "checkpointing, binomial per network step", \
     ''                             using (($11 - bruno_peak)/KiB):16:(sprintf("%d", $3)) with labels offset char -1.3,0 tc rgb "#1f77b4" font ",10" notitle, \
     rows("checkpoint", "uniform")  using (($11 - bruno_peak)/KiB):16 with linespoints lw 2 dt 2 pt 4 ps 1.2 lc rgb "#17becf" title "checkpointing, uniform per network step", \
     ''                             using (($11 - bruno_peak)/KiB):16:(sprintf("%d", $3)) with labels offset char 0,-1 tc rgb "#17becf" font ",10" notitle, \
     rows("checkpoint", "sequence") using (($11 - bruno_peak)/KiB):16 with linespoints lw 2 pt 13 ps 1.2 lc rgb "#9467bd" title "checkpointing over the sequence", \
     ''                             using (($11 - bruno_peak)/KiB):16:(sprintf("%d", $3)) with labels offset char 1.6,0 tc rgb "#9467bd" font ",10" notitle, \
     rows("bptt", "")  using (($11 - bruno_peak)/KiB):16 with points pt 7 ps 2.2 lc rgb "#d62728" title "exact BPTT", \
     bruno_time with lines lw 2.5 dt 2 lc rgb "#2ca02c" title "BRUNO's time (it is the x = 0 reference)"
unset multiplot
