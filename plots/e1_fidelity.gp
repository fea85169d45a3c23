# e1_fidelity.gp - E5 gradient fidelity on the E1 set-up: the BRUNO
# gradient (all parameters) against exact BPTT, as 1 - cosine similarity
# and relative error ||g - g_bptt|| / ||g_bptt||, vs N at dt = 1 ms (left)
# and vs dt at a fixed fine step h = dt/N = 1 us (right). Reads `gdata`,
# the merged CSV of `bruno-bench gradcheck` (trainer, n_fine, dt, hidden,
# seq_ms, rate_grad, cosine, rel_err, norm_bptt, norm, loss_bptt, loss).
# Zeros cannot sit on a log axis: rows with a zero error (N = 1, where
# BRUNO's single step is BPTT's) or a zero BPTT gradient are left out and
# named under the panel; so are non-finite gradients (inf, nan).
# The runs with the rate derivative r'(E) (rate_grad = 1) are not drawn:
# the figure names the N where their BRUNO gradient is not finite.
if (!exists("gdata")) gdata = "results/e1_gradcheck.csv"
W = 1500; H = 620
load "plots/common.gp"
uniq = "!seen[$1 FS $2 FS $3 FS $6]++ && $7 $8 $9 $10 !~ /nan|inf/"
# vs N: dt = 1 ms; vs dt: N*1us = dt
selN(m, rg)  = sprintf("< awk -F, 'NR > 1 && %s && $1 == \"%s\" && $6 == %d && $3 == 0.001 && $9 > 0' %s | sort -t, -k2,2g", uniq, m, rg, gdata)
selD(m, rg)  = sprintf("< awk -F, 'NR > 1 && %s && $1 == \"%s\" && $6 == %d && ($2 * 1e-6 - $3)^2 < 1e-20 && $9 > 0' %s | sort -t, -k3,3g", uniq, m, rg, gdata)
left_out(cond) = system(sprintf("awk -F, 'NR > 1 && $1 == \"bruno\" && $6 == 0 && %s && $7 $8 $9 $10 !~ /nan|inf/ && ($9 == 0 || $8 == 0) {printf \"%%s%%s (%%s)\", (n++ ? \", \" : \"\"), $2, ($9 == 0 ? \"BPTT gradient 0\" : \"error 0\")}' %s", cond, gdata))
bad_rg = system("awk -F, 'NR > 1 && $1 == \"bruno\" && $6 == 1 && $7 $8 $9 $10 ~ /nan|inf/ {printf \"%s%s\", (n++ ? \", \" : \"\"), $2}' " . gdata)
ck = system("awk -F, 'NR > 1 && $1 == \"checkpoint\" {if ($8 > m) m = $8} END {printf \"%g\", m}' " . gdata)
hid = system("awk -F, 'NR > 1 {print $4; exit}' " . gdata)
seq = system("awk -F, 'NR > 1 {print $5; exit}' " . gdata)
pos(x) = x > 0 ? x : 1/0
set multiplot layout 1,2 title sprintf("E5 gradient fidelity vs exact BPTT: 512 inputs -> dense -> %s FeLIF, %s ms, loss sum s^2, all parameters. Checkpointing: largest relative error %s (the BPTT gradient).", hid, seq, ck)
set logscale xy
set format y "10^{%T}"
set ylabel "1 - cosine similarity, relative error"
set yrange [1e-7:1e2]
set key top right opaque box
set xlabel "N, fine steps per network step (dt = 1 ms)"
nl = left_out("$3 == 0.001")
set label 1 (strlen(nl) ? "not drawn, N = " . nl : "") at graph 0.02, graph 0.04 font ",10"
set label 2 (strlen(bad_rg) ? "with the rate derivative r'(E) (--rate-grad) the BRUNO gradient is not finite at N = " . bad_rg : "") at graph 0.02, graph 0.09 font ",10" tc rgb "#b22222"
set title "vs N"
plot selN("bruno", 0) using 2:(pos($8)) with linespoints lw 2.5 pt 9 ps 1.3 lc rgb "#2ca02c" title "BRUNO, relative error", \
     selN("bruno", 0) using 2:(pos(1 - $7)) with linespoints lw 2 dt 2 pt 8 ps 1.3 lc rgb "#2ca02c" title "BRUNO, 1 - cosine", \
     selN("coarse", 0) using 2:(pos($8)) with linespoints lw 1.5 pt 1 lc rgb "#7f7f7f" title "coarse only, relative error"
set xlabel "network step dt [ms] (fine step h = dt/N = 1 µs)"
nl = left_out("($2 * 1e-6 - $3)^2 < 1e-20")
set label 1 (strlen(nl) ? "not drawn, N = " . nl : "") at graph 0.02, graph 0.04 font ",10"
bad_c = system("awk -F, 'NR > 1 && $1 == \"coarse\" && $6 == 0 && ($2 * 1e-6 - $3)^2 < 1e-20 && $7 $8 $9 $10 ~ /nan|inf/ {printf \"%s%g\", (n++ ? \", \" : \"\"), $3 * 1e3}' " . gdata)
set label 2 (strlen(bad_c) ? "coarse only: gradient not finite at dt = " . bad_c . " ms (not drawn)" : "") at graph 0.02, graph 0.09 font ",10" tc rgb "#555555"
set title "vs dt"
plot selD("bruno", 0) using ($3*1e3):(pos($8)) with linespoints lw 2.5 pt 9 ps 1.3 lc rgb "#2ca02c" title "BRUNO, relative error", \
     selD("bruno", 0) using ($3*1e3):(pos(1 - $7)) with linespoints lw 2 dt 2 pt 8 ps 1.3 lc rgb "#2ca02c" title "BRUNO, 1 - cosine", \
     selD("coarse", 0) using ($3*1e3):(pos($8)) with linespoints lw 1.5 pt 1 lc rgb "#7f7f7f" title "coarse only, relative error"
unset multiplot
