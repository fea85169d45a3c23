# convergence.gp - error of the FeLIF Euler scheme vs its step size h
# (EXPERIMENTS E4). Reads `data`: the summary CSV of `bruno-bench converge`
# (impl,n_fine,h,max_abs_dv,max_abs_dp,rms_dv,rms_dp,spikes,spikes_ref,
# max_abs_dt_spike,current,duration,spike_current,spike_duration).
# impl: lib_float/lib_double = bruno.h in the compiled precision, euler_d =
# the same scheme in double, *_check = the reference at twice its step.
if (!exists("data")) data = "results/converge.csv"
W = 1500; H = 540
load "plots/common.gp"
lib = system("awk -F, 'NR==2{print $1}' " . data)
prec = lib[5:]
is(s) = strcol(1) eq s
ischeck(c) = strstrt(strcol(1), "_check") > 0
# run parameters, from the CSV
stats data using 11 skip 1 nooutput name "IT"
stats data using 12 skip 1 nooutput name "TT"
stats data using 13 skip 1 nooutput name "IS"
stats data using 14 skip 1 nooutput name "TS"
stats data using (ischeck(0) ? $3 : 1/0) skip 1 nooutput name "CHK"
href_ns = CHK_min / 2 * 1e9
stats data using ($2*$3) skip 1 nooutput name "DT"
set multiplot layout 1,3 title sprintf("FeLIF explicit Euler at h = dt/N (dt = %g ms) vs a double-precision reference at %.3g ns", DT_mean*1e3, href_ns)
set logscale xy
set format y "10^{%T}"
set xlabel "fine step h [µs]"
set key bottom right opaque box
set ylabel "max |v - v_{ref}|  [V]"
set title sprintf("membrane voltage, %.0f pA, 0-%.0f ms, no threshold", IT_mean*1e12, TT_mean*1e3)
plot data using ($3*1e6):(is(lib) ? $4 : 1/0) skip 1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "bruno.h in " . prec . ", max", \
     data using ($3*1e6):(is(lib) ? $6 : 1/0) skip 1 with linespoints lw 1 dt 2 pt 6 lc rgb "#1f77b4" title "bruno.h in " . prec . ", rms", \
     data using ($3*1e6):(is("euler_d") ? $4 : 1/0) skip 1 with linespoints lw 2 pt 5 lc rgb "#ff7f0e" title "Euler in double, max", \
     data using ($3*1e6):(ischeck(0) ? $4 : 1/0) skip 1 with points pt 9 ps 1.5 lc rgb "black" title sprintf("reference: %.3g ns vs %.3g ns", 2*href_ns, href_ns)
set ylabel "max |p - p_{ref}|  [C/m^2]"
set title "polarization, same run"
plot data using ($3*1e6):(is(lib) ? $5 : 1/0) skip 1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "bruno.h in " . prec . ", max", \
     data using ($3*1e6):(is(lib) ? $7 : 1/0) skip 1 with linespoints lw 1 dt 2 pt 6 lc rgb "#1f77b4" title "bruno.h in " . prec . ", rms", \
     data using ($3*1e6):(is("euler_d") ? $5 : 1/0) skip 1 with linespoints lw 2 pt 5 lc rgb "#ff7f0e" title "Euler in double, max", \
     data using ($3*1e6):(ischeck(0) ? $5 : 1/0) skip 1 with points pt 9 ps 1.5 lc rgb "black" title sprintf("reference: %.3g ns vs %.3g ns", 2*href_ns, href_ns)
set ylabel "max |t_{spike} - t_{spike,ref}|  [µs]"
set title sprintf("threshold-crossing times, %.3g nA, 0-%.0f ms (with freeze and reset)", IS_mean*1e9, TS_mean*1e3)
set key top left
plot data using ($3*1e6):(is(lib) && $10 > 0 ? $10*1e6 : 1/0) skip 1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "bruno.h in " . prec, \
     data using ($3*1e6):(is("euler_d") && $10 > 0 ? $10*1e6 : 1/0) skip 1 with linespoints lw 2 pt 5 lc rgb "#ff7f0e" title "Euler in double", \
     data using ($3*1e6):(ischeck(0) ? $10*1e6 : 1/0) skip 1 with points pt 9 ps 1.5 lc rgb "black" title "reference at twice its step", \
     data using ($3*1e6):($3*1e6) skip 1 with lines lw 1 dt 3 lc rgb "#777777" title "one fine step (error = h)"
unset multiplot
