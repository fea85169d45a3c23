# convergence_traj.gp - the trajectories behind convergence.gp: v(t) of the
# Euler scheme at 100 us and 1 us against the reference, and |v - v_ref|
# over time. Reads `data`: the --traj-out CSV of `bruno-bench converge`
# (impl,n_fine,h,t,v,p,v_ref,p_ref).
if (!exists("data")) data = "results/converge_traj.csv"
W = 900; H = 750
load "plots/common.gp"
lib = system("awk -F, 'NR==2{next} /^lib_/{print $1; exit}' " . data)
prec = lib[5:]
sel(s, N) = strcol(1) eq s && $2 == N
stats data using (strcol(1) eq "reference" ? $3 : 1/0) skip 1 nooutput name "REF"
stats data using (sel(lib, 10) ? $3 : 1/0) skip 1 nooutput name "HA"
stats data using (sel(lib, 1000) ? $3 : 1/0) skip 1 nooutput name "HB"
ha = sprintf("h = %g µs", HA_min*1e6)
hb = sprintf("h = %g µs", HB_min*1e6)
set multiplot layout 2,1 title sprintf("FeLIF at constant current without threshold: explicit Euler vs the reference (double, %.3g ns)", REF_min*1e9)
set lmargin 12
set key top left Left reverse opaque box
set format x ""
set ylabel "membrane voltage v [V]"
plot data using ($4*1e3):(strcol(1) eq "reference" ? $5 : 1/0) skip 1 with lines lw 4 lc rgb "#bbbbbb" title "reference", \
     data using ($4*1e3):(sel(lib, 10) ? $5 : 1/0) skip 1 with lines lw 1.5 lc rgb "#d62728" title "bruno.h in " . prec . ", " . ha, \
     data using ($4*1e3):(sel(lib, 1000) ? $5 : 1/0) skip 1 with lines lw 1.5 dt 2 lc rgb "#1f77b4" title "bruno.h in " . prec . ", " . hb
set format x "%g"
set xlabel "time [ms]"
set logscale y
set format y "10^{%T}"
set ylabel "|v - v_{ref}| [V]"
set key bottom right
plot data using ($4*1e3):(sel(lib, 10) && $5 != $7 ? abs($5 - $7) : 1/0) skip 1 with lines lw 1.5 lc rgb "#d62728" title "bruno.h in " . prec . ", " . ha, \
     data using ($4*1e3):(sel(lib, 1000) && $5 != $7 ? abs($5 - $7) : 1/0) skip 1 with lines lw 1.5 lc rgb "#1f77b4" title "bruno.h in " . prec . ", " . hb, \
     data using ($4*1e3):(sel("euler_d", 1000) && $5 != $7 ? abs($5 - $7) : 1/0) skip 1 with lines lw 1.5 lc rgb "#ff7f0e" title "Euler in double, " . hb
unset multiplot
