#!/usr/bin/env bats
# promo-kmeans (segments as a model/kmeans stream) and its scorer in
# promo-score: the seed's example, the model and profile records, choosing
# k, mini-batch passes, bad input, determinism, and the simulated shop's
# archetypes recovered from behaviour.

load helpers

# The seed's example: users 1-4 with five features each.
seed_users() {
  printf 'user,a,b,c,d,e\n'
  printf '1,10,20,30,40,50\n2,5,15,25,35,45\n3,8,18,28,38,48\n4,12,22,32,42,52\n'
}

# N rows (x,y,z) around 3 centres, fixed seed; column "blob" is the truth.
blobs_csv() {
  awk -v n="$1" 'BEGIN {
    srand(11); print "id,blob,x,y,z"
    split("0 0 0 8 8 0 0 8 8", c, " ")
    for (i = 0; i < n; i++) {
      b = i % 3
      printf "%d,%d", i, b
      for (j = 1; j <= 3; j++) {
        u = rand(); v = rand(); if (u < 1e-12) u = 1e-12
        printf ",%.4f", c[b * 3 + j] + sqrt(-2 * log(u)) * cos(6.283185307 * v)
      }
      printf "\n"
    } }'
}

# matches TEXT REGEX: fail, showing the text, unless it matches.
matches() { [[ "$1" =~ $2 ]] || fail "\"$1\" does not match /$2/"; }

# ari: lines "truth,segment" on stdin -> the adjusted Rand index.
ari() {
  awk -F, 'function c2(x) { return x * (x - 1) / 2 }
    { n++; a[$1]++; b[$2]++; ab[$1 SUBSEP $2]++ }
    END { for (k in ab) s += c2(ab[k]); for (k in a) sa += c2(a[k]); for (k in b) sb += c2(b[k])
          e = sa * sb / c2(n); printf "%.4f\n", (s - e) / ((sa + sb) / 2 - e) }'
}

@test "--help text matches the golden file" {
  run -0 promo-kmeans --help
  assert_equal "$output" "$(cat "$TESTS_DIR/bats/golden/promo-kmeans.help")"
}

@test "the seed's example: k = 2 gives segments {1, 4} and {2, 3}" {
  seed_users > u.csv
  promo-import -q --kind users -o u.mpz u.csv
  run -0 --separate-stderr promo-kmeans --fields a,b,c,d,e -k 2 -o m.mpz u.mpz
  assert_equal "$stderr" "promo-kmeans: k = 2, 4 records, inertia 4.85981, iterations 1"
  run -0 bash -c 'promo-score -m m.mpz u.mpz | promo-cat --fields user,segment'
  # segment 0 is the larger; on a tie, the one with the smaller centroid
  assert_output "user,segment
1,1
2,0
3,0
4,1"
  # the same records come through with the two fields added
  run -0 bash -c 'promo-score -m m.mpz u.mpz | promo-cat --fields user,a,e,distance'
  assert_line --index 1 "1,10,50,0.8646754023342337"
}

@test "the model record: kind, options, scaling, centroids in both units, sizes" {
  seed_users > u.csv
  promo-import -q --kind users -o u.mpz u.csv
  promo-kmeans -q --fields a,b,c,d,e -k 2 --seed 9 -o m.mpz u.mpz
  run -0 promo-cat --header m.mpz
  assert_output '{"promoloop":1,"kind":"model/kmeans","producer":"promo-kmeans","version":"0.1.0","options":{"fields":"a,b,c,d,e","k":"2","pick":"silhouette","scale":"standard","skip_invalid":false,"init":"k-means++","n_init":3,"max_iter":300,"tol":0.0001,"sample":5000,"minibatch":0,"seed":9}}'
  run -0 promo-cat --format jsonl --fields k,fields,widths,features,sizes,iterations,seed,n,skipped m.mpz
  assert_output '{"k":2,"fields":["a","b","c","d","e"],"widths":[1,1,1,1,1],"features":["a","b","c","d","e"],"sizes":[2,2],"iterations":1,"seed":9,"n":4,"skipped":0}'
  run -0 promo-cat --format jsonl --fields centroids_original m.mpz
  assert_output '{"centroids_original":[[6.5,16.5,26.5,36.5,46.5],[11,21,31,41,51]]}'
  run -0 promo-cat --format jsonl --fields scaling m.mpz
  assert_output --partial '{"scaling":{"method":"standard","center":[8.75,18.75,28.75,38.75,48.75],"scale":[2.58602010819715'
  # with --scale none the centroids are the same in both units
  promo-kmeans -q --scale none --fields a,b -k 2 -o n.mpz u.mpz
  run -0 promo-cat --format jsonl --fields centroids,centroids_original n.mpz
  assert_output '{"centroids":[[6.5,16.5],[11,21]],"centroids_original":[[6.5,16.5],[11,21]]}'
}

@test "--profile: a metrics record per segment with size, share, means and distinct features" {
  seed_users > u.csv
  promo-import -q --kind users -o u.mpz u.csv
  run -0 --separate-stderr promo-kmeans --fields a,c,e -k 2 --profile p.mpz -o m.mpz u.mpz
  matches "${stderr_lines[0]}" '^segment +size +share +a +c +e +distinct \(z\)$'
  run -0 promo-cat --kind metrics --format jsonl p.mpz
  assert_output '{"task":"cluster","metric":"profile","group":"0","value":2,"size":2,"share":0.5,"means":{"a":6.5,"c":26.5,"e":46.5},"distinct":["a","c","e"],"z":{"a":-0.8700628401410972,"c":-0.8700628401410972,"e":-0.8700628401410972}}
{"task":"cluster","metric":"profile","group":"1","value":2,"size":2,"share":0.5,"means":{"a":11,"c":31,"e":51},"distinct":["a","c","e"],"z":{"a":0.8700628401410971,"c":0.8700628401410971,"e":0.8700628401410971}}
{"task":"cluster","metric":"inertia","value":2.915887850467289}
{"task":"cluster","metric":"silhouette","value":0.39123376623376627}'
  # promo-evaluate reads the records back
  run -0 promo-evaluate --task report p.mpz
  assert_output --partial "profile of segment 1: 2 rows (share 0.5)"
}

@test "profile means are the segments' averages in original units, counted independently" {
  blobs_csv 600 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  promo-kmeans -q --fields x,y,z -k 3 --profile p.mpz -o m.mpz b.mpz
  promo-score -m m.mpz b.mpz | promo-cat --fields segment,x,y,z --no-names > scored.csv
  expected=$(awk -F, '{ n[$1]++; x[$1] += $2; z[$1] += $4 }
    END { for (s = 0; s < 3; s++) printf "%d %d %.6f %.6f\n", s, n[s], x[s] / n[s], z[s] / n[s] }' scored.csv)
  run -0 bash -c "promo-cat --format jsonl p.mpz | grep '\"profile\"' | sed -E 's/.*\"group\":\"([0-9])\".*\"size\":([0-9]+).*\"means\":\\{\"x\":([-0-9.e]+),\"y\":[-0-9.e]+,\"z\":([-0-9.e]+).*/\\1 \\2 \\3 \\4/' | awk '{ printf \"%d %d %.6f %.6f\\n\", \$1, \$2, \$3, \$4 }'"
  assert_output "$expected"
}

@test "the blobs are found: each segment is one blob, segments ordered by size" {
  blobs_csv 600 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  promo-kmeans -q --fields x,y,z -k 3 -o m.mpz b.mpz
  run -0 bash -c 'promo-score -m m.mpz b.mpz | promo-cat --fields blob,segment --no-names | sort -u | wc -l'
  assert_output 3
  run -0 promo-cat --format jsonl --fields sizes m.mpz
  assert_output '{"sizes":[200,200,200]}'
}

@test "a range of k: a table on stderr, k_table in the model, the silhouette's pick" {
  blobs_csv 600 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  run -0 --separate-stderr promo-kmeans --fields x,y,z -k 2..5 -o m.mpz b.mpz
  assert_output ""
  assert_equal "${stderr_lines[0]}" "promo-kmeans: k by silhouette (silhouette on 600 records):"
  matches "${stderr_lines[1]}" '^ +k +inertia +silhouette +iterations$'
  matches "${stderr_lines[3]}" '^ +3 .*  <- picked$'
  run -0 promo-cat --format jsonl --fields k m.mpz
  assert_output '{"k":3}'
  # the picked k has the largest silhouette of the table
  run -0 bash -c "promo-cat --format jsonl --fields k_table m.mpz | grep -o '\"k\":[0-9]*,\"inertia\":[-0-9.e]*,\"silhouette\":[-0-9.e]*' | sed 's/[a-z\"]*://g' | sort -t, -k3,3gr | head -1 | cut -d, -f1"
  assert_output 3
  # the elbow of the inertia curve is also at 3 for three blobs
  run -0 promo-kmeans -q --fields x,y,z -k 2..6 --pick elbow -o e.mpz b.mpz
  run -0 promo-cat --format jsonl --fields k e.mpz
  assert_output '{"k":3}'
}

@test "the same seed gives a byte-identical model whatever the number of threads" {
  blobs_csv 3000 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  for t in 1 2 3; do
    for o in 1 2; do
      OPENBLAS_NUM_THREADS=$o promo-kmeans -q --threads $t --fields x,y,z -k 2..6 --profile p$t$o.mpz -o m$t$o.mpz b.mpz
      cmp m$t$o.mpz m11.mpz
      cmp p$t$o.mpz p11.mpz
    done
  done
  promo-kmeans -q --threads 2 --fields x,y,z -k 4 --minibatch 256 -o mb1.mpz b.mpz
  OPENBLAS_NUM_THREADS=1 promo-kmeans -q --threads 1 --fields x,y,z -k 4 --minibatch 256 -o mb2.mpz b.mpz
  cmp mb1.mpz mb2.mpz
  # and the seed matters
  promo-kmeans -q --fields x,y,z -k 6 --n-init 1 --seed 1 -o s1.mpz b.mpz
  promo-kmeans -q --fields x,y,z -k 6 --n-init 1 --seed 2 -o s2.mpz b.mpz
  run -1 cmp -s s1.mpz s2.mpz
}

@test "--minibatch: passes over the file, the final assignment exact, inertia close to Lloyd's" {
  blobs_csv 3000 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  promo-kmeans -q --fields x,y,z -k 3 -o full.mpz b.mpz
  run -0 --separate-stderr promo-kmeans --fields x,y,z -k 3 --minibatch 100 --profile p.mpz -o mb.mpz b.mpz
  matches "${stderr_lines[-1]}" '^promo-kmeans: k = 3, 3000 records, inertia [0-9.]+, passes [0-9]+$'
  full=$(promo-cat --fields inertia --no-names full.mpz)
  mb=$(promo-cat --fields inertia --no-names mb.mpz)
  run -0 awk -v f="$full" -v m="$mb" 'BEGIN { r = m / f; print (r >= 1 - 1e-9 && r < 1.01) ? "close" : "far: " r }'
  assert_output close
  # the final pass's sizes and inertia are those of scoring every record
  promo-score -m mb.mpz b.mpz | promo-cat --fields segment,distance --no-names > s.csv
  run -0 bash -c "cut -d, -f1 s.csv | sort | uniq -c | sort -rn | awk '{ printf \"%s%s\", s, \$1; s = \",\" }'"
  assert_output "$(promo-cat --format jsonl --fields sizes mb.mpz | sed 's/.*\[\(.*\)\].*/\1/')"
  run -0 awk -F, -v m="$mb" '{ s += $2 * $2 } END { r = s / m; print (r > 1 - 1e-9 && r < 1 + 1e-9) ? "exact" : "off: " r }' s.csv
  assert_output exact
  # stdin cannot be read twice
  run -2 --separate-stderr promo-kmeans --fields x,y,z -k 3 --minibatch 100 < b.mpz
  assert_equal "$stderr" "promo-kmeans: --minibatch reads the input once per pass: give a FILE, not stdin
Try 'promo-kmeans --help' for more information."
}

@test "an array field spreads over columns, and the scorer reads the array" {
  printf '{"id":1,"v":[0,0]}\n{"id":2,"v":[0,1]}\n{"id":3,"v":[9,9]}\n{"id":4,"v":[9,10]}\n' > v.jsonl
  promo-import -q --kind points -o v.mpz v.jsonl
  promo-kmeans -q --scale none --fields 'v[]' -k 2 -o m.mpz v.mpz
  run -0 promo-cat --format jsonl --fields fields,widths,features,centroids m.mpz
  assert_output '{"fields":["v[]"],"widths":[2],"features":["v[0]","v[1]"],"centroids":[[0,0.5],[9,9.5]]}'
  run -0 bash -c 'promo-score -m m.mpz v.mpz | promo-cat --fields id,segment,distance'
  assert_output "id,segment,distance
1,0,0.5
2,0,0.5
3,1,0.5
4,1,0.5"
  printf '{"id":5,"v":[1,2,3]}\n' | promo-import -q --kind points --format jsonl -o bad.mpz
  run -1 --separate-stderr promo-score -m m.mpz bad.mpz
  assert_equal "$stderr" 'promo-score: bad.mpz: record 1: field "v": expected an array of 2 numbers, got one of another length'
}

@test "--scale robust centres on the median and scales by the interquartile range" {
  printf 'x\n1\n2\n3\n4\n100\n' > r.csv
  promo-import -q --kind points -o r.mpz r.csv
  promo-kmeans -q --scale robust --fields x -k 2 -o m.mpz r.mpz
  run -0 promo-cat --format jsonl --fields scaling,sizes m.mpz
  assert_output '{"scaling":{"method":"robust","center":[3],"scale":[2]},"sizes":[4,1]}'
}

@test "--log clusters on ln(1 + x), stored in the model and applied by the scorer" {
  # spend spans four decades: on the raw values the one large customer is a
  # segment alone; on ln(1 + x) the two groups of scale are found
  printf 'user,spend,visits\n1,9,1\n2,11,1\n3,99,2\n4,101,2\n5,999,3\n6,1001,3\n7,99999,3\n' > s.csv
  promo-import -q --kind users -o s.mpz s.csv
  promo-kmeans -q --scale none --fields spend -k 2 -o raw.mpz s.mpz
  run -0 promo-cat --format jsonl --fields sizes raw.mpz
  assert_output '{"sizes":[6,1]}'
  promo-kmeans -q --scale none --fields spend,visits --log spend -k 2 --profile p.mpz -o m.mpz s.mpz
  run -0 promo-cat --format jsonl --fields log,features,sizes m.mpz
  assert_output '{"log":["spend"],"features":["log1p(spend)","visits"],"sizes":[4,3]}'
  run -0 bash -c "promo-cat --header m.mpz | grep -o '\"log\":\"spend\"'"
  # the centroid is the mean of ln(1 + spend) of its members
  expected=$(awk 'BEGIN { printf "%.6f", (log(1000) + log(1002) + log(100000)) / 3 }')
  run -0 bash -c "promo-cat --format jsonl --fields centroids m.mpz | sed -E 's/.*\\],\\[([-0-9.e]+),.*/\\1/' | awk '{ printf \"%.6f\", \$1 }'"
  assert_output "$expected"
  run -0 bash -c "promo-score -m m.mpz s.mpz | promo-cat --fields user,segment --no-names | paste -sd' '"
  assert_output "1,0 2,0 3,0 4,0 5,1 6,1 7,1"
  # values at or below -1 have no logarithm: an error naming the field, or skipped
  printf 'user,spend,visits\n1,5,1\n2,-1,1\n3,7,2\n4,8,1\n' | promo-import -q --kind users -o neg.mpz
  run -1 --separate-stderr promo-kmeans --fields spend,visits --log spend -k 2 -o bad.mpz neg.mpz
  assert_equal "$stderr" 'promo-kmeans: neg.mpz: record 2: field "spend": -1 is not above -1, so --log cannot take ln(1 + x) (--skip-invalid skips such records)'
  [ ! -e bad.mpz ] || fail "a model was written after an error"
  run -0 promo-kmeans -q --fields spend,visits --log spend --skip-invalid -k 2 -o ok.mpz neg.mpz
  run -0 promo-cat --format jsonl --fields n,skipped ok.mpz
  assert_output '{"n":3,"skipped":1}'
  run -1 --separate-stderr promo-score -m m.mpz neg.mpz
  assert_equal "$stderr" 'promo-score: neg.mpz: record 2: field "spend": -1 is not above -1, so ln(1 + x) is undefined (the model logs it)'
  run -2 --separate-stderr promo-kmeans --fields spend -k 2 --log visits s.mpz
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --log: "visits" is not one of --fields'
  # a model without --log has no "log" field (its bytes are as before)
  run -1 bash -c "promo-cat --format jsonl raw.mpz | grep -c '\"log\"'"
  assert_output 0
}

@test "--kernel blas (OpenBLAS's dgemm) gives the same segments as our kernel" {
  blobs_csv 3000 > b.csv
  promo-import -q --kind points -o b.mpz b.csv
  promo-kmeans -q --fields x,y,z -k 2..6 --kernel own -o own.mpz b.mpz
  promo-kmeans -q --fields x,y,z -k 2..6 --kernel blas -o blas.mpz b.mpz
  promo-score -m own.mpz b.mpz | promo-cat --fields segment > own.csv
  promo-score -m blas.mpz b.mpz | promo-cat --fields segment > blas.csv
  cmp own.csv blas.csv
  run -0 promo-cat --format jsonl --fields k,sizes,iterations blas.mpz
  assert_output "$(promo-cat --format jsonl --fields k,sizes,iterations own.mpz)"
  run -2 --separate-stderr promo-kmeans --fields x -k 2 --kernel gpu b.mpz
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --kernel: expected own or blas, got "gpu"'
}

@test "missing, non-finite and text features are errors naming the field; --skip-invalid counts" {
  printf 'user,a,b\n1,1,x\n2,,y\n3,5,z\n4,7,w\n' > bad.csv
  promo-import -q --kind users --types a=float -o bad.mpz bad.csv
  run -1 --separate-stderr promo-kmeans --fields a -k 2 -o m.mpz bad.mpz
  assert_equal "$stderr" 'promo-kmeans: bad.mpz: record 2: field "a": missing (--skip-invalid skips such records)'
  [ ! -e m.mpz ] || fail "a model was written after an error"
  run -1 --separate-stderr promo-kmeans --fields b -k 2 -o m.mpz bad.mpz
  assert_equal "$stderr" 'promo-kmeans: bad.mpz: record 1: field "b": expected a number, got a string'
  run -0 --separate-stderr promo-kmeans --fields a -k 2 --skip-invalid -o m.mpz bad.mpz
  assert_equal "${stderr_lines[0]}" "promo-kmeans: skipped 1 of 4 records (missing or non-finite features)"
  run -0 promo-cat --format jsonl --fields n,skipped m.mpz
  assert_output '{"n":3,"skipped":1}'
  # the scorer: a record without a feature the model needs
  printf 'user,b\n9,x\n' | promo-import -q --kind users -o nob.mpz
  run -1 --separate-stderr promo-score -m m.mpz nob.mpz
  assert_equal "$stderr" 'promo-score: nob.mpz: record 1: field "a": missing (the model needs it)'
  run -1 --separate-stderr promo-score -m m.mpz bad.mpz
  assert_equal "$stderr" 'promo-score: bad.mpz: record 2: field "a": missing (the model needs it)'
}

@test "too few records, no records, and a wrong kind of model" {
  seed_users > u.csv
  promo-import -q --kind users -o u.mpz u.csv
  run -1 --separate-stderr promo-kmeans --fields a -k 2..5 -o m.mpz u.mpz
  assert_equal "$stderr" "promo-kmeans: u.mpz: k = 5 needs at least 5 records, got 4"
  [ ! -e m.mpz ] || fail "a model was written after an error"
  head -1 u.csv | promo-import -q --kind users -o empty.mpz
  run -1 --separate-stderr promo-kmeans --fields a -k 2 -o m.mpz empty.mpz
  assert_equal "$stderr" "promo-kmeans: empty.mpz: no records to cluster"
  printf 'a\n1\n1\n1\n2\n' | promo-import -q --kind users -o dup.mpz
  run -0 --separate-stderr promo-kmeans --fields a -k 3 -o m.mpz dup.mpz
  assert_equal "${stderr_lines[0]}" "promo-kmeans: warning: k = 3: only 2 clusters have records (the data has too few distinct points)"
  run -1 --separate-stderr promo-score -m u.mpz u.mpz
  assert_output ""
  [[ "$stderr" == 'promo-score: u.mpz: expected a stream of kind "model/" '*'got "users"' ]] || fail "$stderr"
}

@test "usage errors: exit 2 with the option named" {
  run -2 --separate-stderr promo-kmeans -k 2
  assert_equal "${stderr_lines[0]}" "promo-kmeans: --fields is required: the numeric features to cluster on"
  run -2 --separate-stderr promo-kmeans --fields a
  assert_equal "${stderr_lines[0]}" "promo-kmeans: -k is required: a number of clusters, or a range such as 2..12"
  run -2 --separate-stderr promo-kmeans --fields a -k 5..3
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: -k: a range must go up, got "5..3"'
  run -2 --separate-stderr promo-kmeans --fields a -k 1..3
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: -k: expected 2 to 1000, got 1'
  run -2 --separate-stderr promo-kmeans --fields a -k two
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: -k: expected a whole number, got "two"'
  run -2 --separate-stderr promo-kmeans --fields a -k 2 --scale log
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --scale: expected standard, robust or none, got "log"'
  run -2 --separate-stderr promo-kmeans --fields a -k 2..4 --pick best
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --pick: expected silhouette or elbow, got "best"'
  run -2 --separate-stderr promo-kmeans --fields a,a -k 2
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --fields: "a" is given twice'
  run -2 --separate-stderr promo-kmeans --fields a -k 2 --profile m.mpz -o m.mpz
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --profile and --output name the same file'
  run -2 --separate-stderr promo-kmeans --fields a -k 2 --tol -1
  assert_equal "${stderr_lines[0]}" 'promo-kmeans: --tol: expected 0 to 1, got -1'
}

# Must show 2.  The simulated shop's users, described by their behaviour
# (until promo-featurize --view users is wired in: an awk step over the
# events, documented in docs/kmeans.md), clustered into as many segments as
# there are archetypes.  The archetypes overlap by design (visit rates are
# an archetype's rate times Exp(1), propensities log-normal), so even
# k-means on the world's hidden per-user parameters (log visit rate, log
# propensity, log price sensitivity) recovers them only in part; that
# "oracle" is computed here too.  The bar: the behaviour segments reach an
# ARI of at least 0.2 and at least half the oracle's, where shuffled
# segments score about 0 (checked below, < 0.02).
@test "the simulated shop: segments of the users view recover the archetypes (ARI)" {
  # The users view of 8 weeks of a 4000-user shop, the users with at least
  # 5 sessions (fewer carry too little behaviour to tell an archetype by).
  promo-synth world -q --users 4000 --seed 7 -o w.mpz
  promo-synth events -q --world w.mpz --days 56 --dirt 0 --seed 7 -o e.mpz
  promo-clean -q -o c.mpz e.mpz
  promo-featurize -q --view users --asof 2024-02-26 -o all.mpz c.mpz
  promo-cat --format csv all.mpz |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print; next } $col["sessions"] >= 5' > users.csv
  promo-import -q --kind users -o users.mpz users.csv
  promo-cat --fields type,user,archetype,visit_rate,propensity,price_sensitivity --no-names w.mpz |
    awk -F, '$1 == "user"' | sort -t, -k2,2 > world_users.csv
  cut -d, -f2,3 world_users.csv > truth.csv
  # Features that mirror the archetypes' parameters: spend (visits x
  # propensity x price), events per session (views per session), the mean
  # purchase value (price sensitivity) and carts that end in a purchase
  # (checkout); the three heavy-tailed ones logged.
  promo-kmeans -q --fields monetary,mean_session_length,mean_purchase_value,cart_to_purchase \
    --log monetary,mean_session_length,mean_purchase_value -k 5 -o m.mpz users.mpz
  promo-score -m m.mpz users.mpz | promo-cat --fields user,segment --no-names | sort -t, -k1,1 |
    join -t, truth.csv - | cut -d, -f2,3 > pairs.csv
  n=$(wc -l < pairs.csv)
  behaviour=$(ari < pairs.csv)
  shuffled=$(cut -d, -f2 pairs.csv | awk 'BEGIN { srand(5) } { print rand() "\t" $0 }' | sort -n | cut -f2 |
    paste -d, <(cut -d, -f1 pairs.csv) - | ari)
  # the oracle: the same users, their hidden parameters
  cut -d, -f1 users.csv | tail -n +2 | sort > active.txt
  { echo "user,log_visit_rate,log_propensity,log_price_sensitivity"
    join -t, active.txt <(cut -d, -f2,4,5,6 world_users.csv) |
      awk -F, '{ printf "%s,%.6f,%.6f,%.6f\n", $1, log($2), log($3), log($4) }'; } > hidden.csv
  promo-import -q --kind users -o hidden.mpz hidden.csv
  promo-kmeans -q --fields log_visit_rate,log_propensity,log_price_sensitivity -k 5 -o h.mpz hidden.mpz
  oracle=$(promo-score -m h.mpz hidden.mpz | promo-cat --fields user,segment --no-names | sort -t, -k1,1 |
    join -t, truth.csv - | cut -d, -f2,3 | ari)
  echo "# archetypes vs segments of the users view, $n users: ARI $behaviour (hidden-parameter oracle $oracle, shuffled $shuffled)" >&3
  # The bar: archetypes overlap in behaviour (the oracle, k-means on the
  # hidden parameters themselves, reaches only about 0.4), and the view has
  # no mean price of the items viewed nor the share of the top items, the
  # two cues that set bargain hunters and loyal buyers apart; so at least
  # 0.2 and half the oracle, while a shuffled assignment scores about 0.
  # (Seeds 7 and 11 of this set-up give 0.27 and 0.24.)
  run -0 awk -v b="$behaviour" -v o="$oracle" -v s="$shuffled" 'BEGIN { print (b >= 0.2 && b >= o / 2 && s < 0.02 && s > -0.02) ? "ok" : "below the bar" }'
  assert_output ok
}

@test "UCI Online Retail: the RFM pipeline finds a small group of recent, frequent, high-value buyers" {
  file=$DATASETS/uci-online-retail/online_retail.csv.gz
  [ -f "$file" ] || skip "data set not present: $file"
  run -0 make -s -f "$TESTS_DIR/../pipelines/retail-segments.mk" BIN="$PROMO_BIN" RETAIL="$file" OUT=out
  [ -s out/profile.mpz ] && [ -s out/segments.txt ] || fail "no profile"
  run -0 promo-cat --format jsonl --fields n out/segments.mpz
  assert_output '{"n":4338}'
  # the segment with the highest mean log_monetary: small, recent, frequent
  run -0 bash -c "promo-cat --format jsonl out/profile.mpz | grep '\"profile\"' | sed -E 's/.*\"share\":([0-9.e-]+),\"means\":\\{\"recency_days\":([0-9.e-]+),\"log_frequency\":([0-9.e-]+),\"log_monetary\":([0-9.e-]+)\\}.*/\\4 \\1 \\2 \\3/' | sort -gr | head -1"
  read -r money share recency freq <<< "$output"
  echo "# best segment: share $share, recency $recency days, log frequency $freq, log monetary $money" >&3
  run -0 awk -v s="$share" -v r="$recency" -v f="$freq" 'BEGIN { print (s < 0.3 && r < 40 && f > 1.5) ? "ok" : "no" }'
  assert_output ok
}
