#!/usr/bin/env bash
# The uplift tree against the two-model approach on the simulated shop.
#
# Usage: shop-uplift.sh USERS SEED DIR [DEPTH MIN_LEAF CRITERION]
#
# A world of USERS customers lives 21 days (one past campaign), then every
# customer enters one fully randomized campaign (tests/dtree/plan.py: half
# held out as the control, half given one of the four offers) for 7 days.
# promo-featurize --view examples makes one row per customer with features
# as of the campaign start; "arm" is offer or control.  Customers with an
# even id train, odd ids are the held-out half.  Trained on the first half:
# an uplift tree (--treatment arm --outcome converted) and two classification
# trees of the same depth and leaf size, one on the treated rows and one on
# the control rows, whose difference of probabilities is the two-model
# uplift.  Both rank the held-out half; tests/dtree/uplift_eval.py gives
# each ranking's Qini coefficient and the true uplift (promo-synth truth,
# averaged over the offers) of its top 30%, next to the mean of all.
# Prints one line: rows=... uplift_qini=... uplift_top30=... two_qini=...
# two_top30=... random=... uplift_tqini=... two_tqini=... (tqini: the Qini
# coefficient of the true uplifts, see uplift_eval.py).  The promo-*
# programs come from PATH.
#
# UPLIFT_OPTS adds options to the uplift model (say --honest), TWO_OPTS to
# both classification models, BOTH_OPTS to all three (say --trees 20 for an
# uplift forest against a pair of forests).  The data of a (USERS, SEED)
# pair are made once in DIR and reused by later runs with other models.
set -euo pipefail
users=$1 seed=$2 dir=$3 depth=${4:-6} leaf=${5:-400} crit=${6:-ed}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
mkdir -p "$dir"
cd "$dir"
# The data: world, history, campaign, examples, truth, halves.
make_data() {
  promo-synth world -q --users "$users" --seed "$seed" -o world.mpz
  promo-synth events -q --world world.mpz --days 21 --campaigns 1 --dirt 0 --seed "$seed" -o history.mpz
  "$py" "$here/plan.py" "$users" "$seed" > plan.csv
  promo-import -q --kind plan --types user=int,holdout=bool -o plan.mpz plan.csv
  promo-synth respond -q --world world.mpz --plan plan.mpz --start 2024-01-22 --campaign 2 \
    --seed "$seed" -o campaign.mpz
  promo-clean -q -o clean.mpz history.mpz campaign.mpz
  promo-featurize -q --view examples --asof 2024-01-29 --campaign 2 -o examples.mpz clean.mpz
  promo-synth truth -q --world world.mpz -o truth.mpz
  promo-cat --fields user,uplift_conversion truth.mpz |
    awk -F, 'NR == 1 { print "user,uplift"; next } { u[$1] += $2; n[$1]++ }
             END { for (k in u) print k "," u[k] / n[k] }' > truth.csv
  # Halves by user id, and each training row's arm; the training half also
  # split by arm for the two-model approach.
  promo-cat examples.mpz |
    awk -F, -v OFS=, '
      NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
                print $0, "arm" > "train.csv"; print $0, "arm" > "held.csv"
                print $0, "arm" > "treated.csv"; print $0, "arm" > "control.csv"; next }
      { arm = $col["treatment"] == "control" ? "control" : "offer"
        if ($col["user"] % 2) { print $0, arm > "held.csv"; next }
        print $0, arm > "train.csv"; print $0, arm > (arm == "offer" ? "treated.csv" : "control.csv") }'
  for h in train held treated control; do
    promo-import -q --kind examples -o $h.mpz $h.csv
  done
}
if [ "$(cat data.ok 2> /dev/null)" != "$users $seed" ]; then
  rm -f data.ok
  make_data
  echo "$users $seed" > data.ok
fi
size=(--max-depth "$depth" --min-leaf "$leaf")
not=user,campaign,treatment,revenue
promo-dtree -q --treatment arm --outcome converted --criterion "$crit" --exclude $not "${size[@]}" \
  --seed "$seed" ${BOTH_OPTS:-} ${UPLIFT_OPTS:-} -o uplift.mpz train.mpz
for a in treated control; do
  promo-dtree -q --label converted --exclude $not,arm "${size[@]}" --seed "$seed" ${BOTH_OPTS:-} \
    ${TWO_OPTS:-} -o $a-model.mpz $a.mpz
done
promo-score -m uplift.mpz held.mpz | promo-cat --fields user,arm,converted,uplift |
  sed 1s/uplift/score/ > uplift-scores.csv
promo-score -m treated-model.mpz held.mpz | promo-cat --fields user,arm,converted,p > pt.csv
promo-score -m control-model.mpz held.mpz | promo-cat --fields p > pc.csv
paste -d, pt.csv pc.csv |
  awk -F, 'NR == 1 { print "user,arm,converted,score"; next } { print $1 "," $2 "," $3 "," $4 - $5 }' \
  > two-model-scores.csv
read -r _ uq _ ut _ all _ utq < <("$py" "$here/uplift_eval.py" uplift-scores.csv truth.csv)
read -r _ tq _ tt _ _ _ ttq < <("$py" "$here/uplift_eval.py" two-model-scores.csv truth.csv)
rows=$(( $(wc -l < train.csv) + $(wc -l < held.csv) - 2 ))
echo "rows=$rows uplift_qini=$uq uplift_top30=$ut two_qini=$tq two_top30=$tt random=$all" \
  "uplift_tqini=$utq two_tqini=$ttq"
