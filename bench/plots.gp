# plots.gp: the benchmark plots, drawn from the .dat files wcard-bench --out writes.
# gnuplot -e "dir='bench/results'" bench/plots.gp
if (!exists("dir")) dir = "bench/results"
set terminal svg size 800,480 dynamic font "sans,11" background "white"
set grid
set key left top

set output dir."/scaling.svg"
set title "Lookup cost against rule count (generated sets, cold cache, BPF)"
set logscale xy
set xlabel "rules"
set ylabel "ns per lookup"
set format x "10^{%L}"
set format y "%g"
plot dir."/scaling.dat" using 1:2 with linespoints lw 2 title "brute force", \
     dir."/scaling.dat" using 1:3 with linespoints lw 2 title "Tuple Merge", \
     dir."/scaling.dat" using 1:4 with linespoints lw 2 title "static Tuple Merge"

set output dir."/lpm.svg"
set title "Longest-prefix match on the real tables against the kernel LPM trie (cold cache)"
unset logscale
set logscale y
set format x "%g"
set xlabel ""
set ylabel "ns per lookup (log scale)"
set style fill solid 0.7
set boxwidth 0.6
set xtics rotate by -30 left font ",9"
set key off
plot dir."/lpm.dat" using 0:2:xtic(1) with boxes lc rgb "#3070b0", \
     dir."/lpm.dat" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",9"

set output dir."/updates.svg"
set title "Single-rule update latency, acl1\\_10k (insert or delete, from half the set)"
unset logscale
set logscale y
set xtics norotate font ",11"
set xlabel "percentile"
set ylabel "microseconds (log scale)"
set xrange [0:100]
set key left top
plot dir."/updates.dat" using 1:2 with lines lw 2 title "updates alone", \
     dir."/updates_lookups.dat" using 1:2 with lines lw 2 title "with lookups on the other core"

set output dir."/lpm_scaling.svg"
set title "Longest-prefix match against table size (samples of the real tables, cold cache)"
unset logscale
set logscale xy
set format x "10^{%L}"
set format y "%g"
set xlabel "routes"
set ylabel "ns per lookup"
unset xrange
set key left top
plot dir."/lpm4_scaling.dat" using 1:2 with linespoints lw 2 title "IPv4 kernel LPM trie", \
     dir."/lpm4_scaling.dat" using 1:3 with linespoints lw 2 title "IPv4 wcard DIR-24-8", \
     dir."/lpm4_scaling.dat" using 1:4 with linespoints lw 2 title "IPv4 wcard small trie", \
     dir."/lpm6_scaling.dat" using 1:2 with linespoints lw 2 dt 2 title "IPv6 kernel LPM trie", \
     dir."/lpm6_scaling.dat" using 1:3 with linespoints lw 2 dt 2 title "IPv6 wcard trie"
