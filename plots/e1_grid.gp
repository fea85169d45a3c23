# e1_grid.gp - layout shared by e1_memory.gp and e1_time.gp (EXPERIMENTS
# E1): one panel per hidden size, one line per trainer and schedule, x =
# sequence length. Reads `data`, the merged memtime CSV (trainer, schedule,
# checkpoints, neuron, hidden, inputs, seq_ms, batch, n_fine, repeats,
# peak_bytes_counted, peak_bytes_predicted, peak_bytes_jemalloc,
# time_forward_s, time_backward_s, time_total_s, loss).
# The caller sets: ycol (column), yscale (factor), ylab, what (title).
if (!exists("data")) data = "results/e1_memtime.csv"
W = 1650; H = 640
load "plots/common.gp"
# the rows of one series in one panel, in order of sequence length: a
# gnuplot filter with 1/0 would break the line at every other row
rows(m, sc, k, n, h) = sprintf("< awk -F, 'NR > 1 && $1 == \"%s\" && $2 == \"%s\" && $3 == %d && $4 == \"%s\" && $5 == %d' %s | sort -t, -k7,7g", m, sc, k, n, h, data)
count(m, sc, k, n, h) = int(system(substr(rows(m, sc, k, n, h), 3, 10000) . " | wc -l"))
# the series: trainer, schedule, K, neuron, label, colour, dash, point
NS = 8
sm(i)  = word("bptt bruno checkpoint checkpoint checkpoint checkpoint bptt bptt", i)
ssc(i) = word("- - binomial uniform sequence sequence - -", i)
sk(i)  = int(word("0 0 31 31 8 32 0 0", i))
sn(i)  = word("felif felif felif felif felif felif lif rlif", i)
slab(i) = i == 1 ? "FeLIF, exact BPTT (every fine step stored)" : \
          i == 2 ? "FeLIF, BRUNO" : \
          i == 3 ? "FeLIF, checkpointing, binomial, K = 31 per network step" : \
          i == 4 ? "FeLIF, checkpointing, uniform, K = 31 per network step" : \
          i == 5 ? "FeLIF, checkpointing over the sequence, K = 8" : \
          i == 6 ? "FeLIF, checkpointing over the sequence, K = 32" : \
          i == 7 ? "LIF at dt, BPTT (baseline)" : "RLIF at dt, BPTT (baseline)"
scol(i) = word("#d62728 #2ca02c #1f77b4 #1f77b4 #9467bd #9467bd #7f7f7f #7f7f7f", i)
sdt(i)  = int(word("1 1 1 2 1 2 1 2", i))
spt(i)  = int(word("7 9 5 4 13 12 1 2", i))
slw(i)  = i == 2 ? 3 : 2
sc_(i)  = ssc(i) eq "-" ? "" : ssc(i)
nfine = system("awk -F, 'NR > 1 && $4 == \"felif\" {print $9; exit}' " . data)
ninp  = system("awk -F, 'NR > 1 {print $6; exit}' " . data)
nrep  = system("awk -F, 'NR > 1 {print $10; exit}' " . data)
hs = system("awk -F, 'NR > 1 {print $5}' " . data . " | sort -n | uniq | tr '\\n' ' '")
NH = words(hs)
# one y range for every panel, whole decades
# (printed with a decimal point: gnuplot's real() refuses "3e-05", awk's print of 0.00003)
ymin = real(system(sprintf("awk -F, 'NR > 1 && $%d > 0 {v = $%d * %.17g; if (!n++ || v < m) m = v} END {printf \"%%.9e\\n\", m}' %s", ycol, ycol, yscale, data)))
ymax = real(system(sprintf("awk -F, 'NR > 1 {v = $%d * %.17g; if (v > m) m = v} END {printf \"%%.9e\\n\", m}' %s", ycol, yscale, data)))
set yrange [10**floor(log10(ymin)) : 10**ceil(log10(ymax))]

set multiplot title sprintf("%s, one forward + backward, batch 1: %s inputs -> dense -> spiking layer; FeLIF at N = %s fine steps per 1 ms step (%s repeat(s))", what, ninp, nfine, nrep)
set logscale xy
set format y "10^{%T}"
set xlabel "sequence length [ms of network time]"
set xrange [8:650]
set xtics (10, 20, 50, 100, 200, 500)
set key off
PW = 0.98 / NH
do for [j = 1:NH] {
    h = int(word(hs, j))
    set origin 0.01 + (j - 1) * PW, 0.17
    set size PW, 0.76
    set title sprintf("hidden = %d", h)
    if (j == 1) { set ylabel ylab } else { unset ylabel }
    plot for [i = 1:NS] (count(sm(i), sc_(i), sk(i), sn(i), h) > 0 ? rows(sm(i), sc_(i), sk(i), sn(i), h) : rows("none", "", 0, "", 0)) \
         using 7:(column(ycol) * yscale) with linespoints lw slw(i) dt sdt(i) pt spt(i) ps 1.1 lc rgb scol(i) notitle
}
# the legend in a strip of its own under the panels
set origin 0, 0
set size 1, 0.15
unset title; unset xlabel; unset ylabel; unset logscale
unset border; unset tics; unset grid
unset logscale; set xrange [0:1]; set yrange [0:1]
set key center center horizontal maxcols 3 samplen 5 spacing 1.2 width 3 reverse Left
plot for [i = 1:NS] 2 with linespoints lw slw(i) dt sdt(i) pt spt(i) ps 1.1 lc rgb scol(i) title slab(i)
unset multiplot
