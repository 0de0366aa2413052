#!/usr/bin/env bats
# promo-train-cnn: the CNN and its logistic baseline, their model streams,
# promo-score's p_buy, determinism, and bad inputs.  Small data made here:
# sequences of 12 "ev" tokens whose label is the bigram 3 4 (docs/train-cnn.md).

load helpers

# seq_jsonl N SEED: sequences whose label is the bigram 3 4 (tests/cnn/seq-jsonl.sh), with x1 a noisy copy of the label.
seq_jsonl() { "$TESTS_DIR/cnn/seq-jsonl.sh" "$1" "$2" x1; }

small=(--tokens ev:4 --widths 2,3 --filters 8 --hidden 8 --batch 32 --lr 0.01)

setup() {
  seq_jsonl 1500 1 > seq.jsonl
  promo-import -q --format jsonl --kind sequences -o seq.mpz seq.jsonl
}

@test "promo-train-cnn --help matches the golden file" {
  run -0 --separate-stderr promo-train-cnn --help
  assert_equal "$output" "$(cat "$TESTS_DIR/bats/golden/promo-train-cnn.help")"
  assert_equal "$stderr" ""
}

@test "the CNN learns a planted bigram; one line per epoch on stderr" {
  run -0 --separate-stderr promo-train-cnn "${small[@]}" --epochs 3 -o cnn.mpz seq.mpz
  assert_output ""
  [[ "$stderr" == *"promo-train-cnn: 1200 training rows (4"*"% positive), 300 validation rows"* ]] ||
    fail "no summary line: $stderr"
  run -0 grep -cE '^promo-train-cnn: epoch [123]/3: train loss [0-9.]+, valid loss [0-9.]+, valid AUC [0-9.]+, [0-9]+ examples/s( \*)?$' <<< "$stderr"
  assert_output 3
  run -0 grep -E '^promo-train-cnn: kept epoch [123] of 3: valid AUC ' <<< "$stderr"
  # the kept epoch's validation AUC, from the model
  run -0 promo-cat --format tsv --no-names --fields training cnn.mpz
  auc=$(sed -E 's/^[^[]*"valid_auc":([0-9.]+).*/\1/' <<< "$output")
  awk -v a="$auc" 'BEGIN { exit !(a > 0.95) }' || fail "validation AUC $auc is not above 0.95"
}

@test "the model stream: kind, architecture in the header, tensors with shapes" {
  promo-train-cnn -q "${small[@]}" --epochs 1 -o cnn.mpz seq.mpz
  run -0 promo-cat --kind model/cnn --count cnn.mpz
  assert_output 1
  run -0 promo-cat --header cnn.mpz
  assert_output --partial '"kind":"model/cnn","producer":"promo-train-cnn"'
  assert_output --partial '"tokens":"ev:4","length":12,"widths":"2,3","filters":8,"pool":"max,mean","hidden":"8"'
  assert_output --partial '"seed":1'
  run -0 promo-cat --format jsonl --fields tokens,widths,shapes cnn.mpz
  assert_output '{"tokens":[{"name":"ev","vocab":10,"dim":4}],"widths":[2,3],"shapes":{"emb.ev":[10,4],"conv2.weight":[8,8],"conv2.bias":[8],"conv3.weight":[8,12],"conv3.bias":[8],"dense1.weight":[8,32],"dense1.bias":[8],"out.weight":[1,8],"out.bias":[1]}}'
}

@test "the same seed and threads give the same bytes; another seed does not" {
  promo-train-cnn -q "${small[@]}" --epochs 2 -o a.mpz seq.mpz
  promo-train-cnn -q "${small[@]}" --epochs 2 -o b.mpz seq.mpz
  run -0 cmp a.mpz b.mpz
  # wide embeddings and larger batches: several chunks per batch, so both threads work
  promo-train-cnn -q "${small[@]}" --tokens ev:64 --batch 128 --epochs 2 --threads 2 -o c.mpz seq.mpz
  promo-train-cnn -q "${small[@]}" --tokens ev:64 --batch 128 --epochs 2 --threads 2 -o d.mpz seq.mpz
  run -0 cmp c.mpz d.mpz
  run -0 --separate-stderr promo-train-cnn "${small[@]}" --tokens ev:64 --batch 128 --epochs 1 --threads 2 -o d.mpz seq.mpz
  [[ "$stderr" == *"parameters; 2 threads, OpenBLAS "* ]] || fail "not 2 threads: $stderr"
  promo-train-cnn -q "${small[@]}" --epochs 2 --seed 2 -o e.mpz seq.mpz
  run -1 cmp -s a.mpz e.mpz
}

@test "promo-score adds p_buy to every sequence, consistent with the validation AUC" {
  promo-train-cnn -q "${small[@]}" --epochs 3 -o cnn.mpz seq.mpz
  run -0 --separate-stderr promo-score -m cnn.mpz -o scored.mpz seq.mpz
  run -0 promo-cat --count scored.mpz
  assert_output 1500
  run -0 promo-cat --header scored.mpz
  assert_output --partial '"kind":"sequences"'
  assert_output --partial '"model_kind":"model/cnn"'
  # probabilities, high exactly for the positives
  run -0 bash -c 'promo-cat --no-names --fields label,p_buy scored.mpz |
    awk -F, '\''$2 < 0 || $2 > 1 { bad++ } ($2 >= 0.5) != $1 { wrong++ } END { print bad + 0, wrong + 0 }'\'''
  read -r bad wrong <<< "$output"
  [ "$bad" -eq 0 ] || fail "$bad probabilities outside [0, 1]"
  [ "$wrong" -le 30 ] || fail "$wrong of 1500 sequences on the wrong side of 0.5"
  # the records keep their fields
  run -0 promo-cat --head 1 --fields user,len,label scored.mpz
  assert_output "$(promo-cat --head 1 --fields user,len,label seq.mpz)"
}

@test "numeric features from the record, or joined from a users view" {
  # the same x1, once in the sequences and once in a users view
  promo-train-cnn -q "${small[@]}" --numeric x1 --epochs 1 -o a.mpz seq.mpz
  sed 's/,"x1":[0-9.]*//' seq.jsonl | promo-import -q --format jsonl --kind sequences -o bare.mpz
  awk -F'[:,}]' '{ for (i = 1; i < NF; i++) { if ($i == "{\"user\"") u = $(i + 1); if ($i == "\"x1\"") x = $(i + 1) }
                   printf "{\"user\":%s,\"x1\":%s}\n", u, x }' seq.jsonl |
    promo-import -q --format jsonl --kind users -o users.mpz
  promo-train-cnn -q "${small[@]}" --numeric x1 --users users.mpz --epochs 1 -o b.mpz bare.mpz
  run -0 promo-cat --format jsonl --fields numeric,num_mean,tensors a.mpz
  assert_output "$(promo-cat --format jsonl --fields numeric,num_mean,tensors b.mpz)"
  # scoring needs the feature in the records
  run -1 --separate-stderr promo-score -m b.mpz bare.mpz
  assert_equal "$stderr" 'promo-score: bare.mpz: record 1: field "x1": missing (a numeric feature of the model; records need the users view'"'"'s features)'
}

@test "the logistic baseline: model/logreg, p_buy, trained the same way" {
  run -0 --separate-stderr promo-train-cnn --model logreg --numeric x1 --epochs 3 --lr 0.05 -o lr.mpz seq.mpz
  run -0 grep -cE '^promo-train-cnn: epoch [123]/3: train loss ' <<< "$stderr"
  assert_output 3
  run -0 promo-cat --header lr.mpz
  assert_output --partial '"kind":"model/logreg"'
  run -0 promo-cat --format jsonl --fields numeric lr.mpz
  assert_output '{"numeric":["x1"]}'
  promo-score -q -m lr.mpz -o scored.mpz seq.mpz
  # x1 = label + U(0, 2): the baseline ranks by x1
  run -0 bash -c 'promo-cat --no-names --fields x1,p_buy scored.mpz | sort -t, -k1,1g | awk -F, '\''NR > 1 && $2 < prev { down++ } { prev = $2 } END { print down + 0 }'\'''
  assert_output 0
}

@test "--valid FILE, class weights and a schedule are used and recorded" {
  seq_jsonl 300 2 | promo-import -q --format jsonl --kind sequences -o valid.mpz
  run -0 --separate-stderr promo-train-cnn "${small[@]}" --valid valid.mpz --epochs 2 --schedule exp \
    --lr-decay 0.5 --class-weight balanced -o cnn.mpz seq.mpz
  [[ "$stderr" == *"promo-train-cnn: 1500 training rows (4"*"% positive), 300 validation rows"* ]] ||
    fail "unexpected: $stderr"
  run -0 promo-cat --header cnn.mpz
  assert_output --regexp '"valid":"valid.mpz","valid_frac":0,.*"schedule":"exp","lr_decay":0.5,.*"class_weight":"balanced","pos_weight":[01]\.[0-9]+'
  run -0 promo-cat --format tsv --no-names --fields training cnn.mpz
  assert_output --partial '"history":[{"epoch":1,"lr":0.01,'
  assert_output --partial '{"epoch":2,"lr":0.005,'
  # validation records must have the training records' length
  sed 's/"ev":\[\([0-9]*\),/"ev":[/' seq.jsonl | head -50 | promo-import -q --format jsonl --kind sequences -o short.mpz
  run -1 --separate-stderr promo-train-cnn "${small[@]}" --valid short.mpz -o m.mpz seq.mpz
  assert_equal "$stderr" 'promo-train-cnn: short.mpz: record 1: field "ev": expected an array of 12 ids, as in the first record, got 11'
}

@test "bad inputs: a clear message, exit 1, and no model written" {
  promo-import -q --kind events -o ev.mpz <(events_csv)
  run -1 --separate-stderr promo-train-cnn -o m.mpz ev.mpz
  assert_equal "$stderr" 'promo-train-cnn: ev.mpz: expected a stream of kind "sequences" (made by promo-featurize --view sequences), got "events"'
  run -1 --separate-stderr promo-train-cnn -o m.mpz seq.mpz
  assert_equal "$stderr" 'promo-train-cnn: seq.mpz: record 1: field "cat": missing (a token array of promo-featurize --view sequences)'
  sed '7s/"label":[01]/"label":2/' seq.jsonl | promo-import -q --format jsonl --kind sequences -o bad.mpz
  run -1 --separate-stderr promo-train-cnn "${small[@]}" -o m.mpz bad.mpz
  assert_equal "$stderr" 'promo-train-cnn: bad.mpz: record 7: field "label": expected 0 or 1, got 2'
  sed '5s/"ev":\[\([0-9]*\),/"ev":[/' seq.jsonl | promo-import -q --format jsonl --kind sequences -o short.mpz
  run -1 --separate-stderr promo-train-cnn "${small[@]}" -o m.mpz short.mpz
  assert_equal "$stderr" 'promo-train-cnn: short.mpz: record 5: field "ev": expected an array of 12 ids, as in the first record, got 11'
  sed '3s/"ev":\[\([0-9]*\),/"ev":[-1,/' seq.jsonl | promo-import -q --format jsonl --kind sequences -o neg.mpz
  run -1 --separate-stderr promo-train-cnn "${small[@]}" -o m.mpz neg.mpz
  assert_equal "$stderr" 'promo-train-cnn: neg.mpz: record 3: field "ev": element 0: expected a token id (an integer >= 0), got a negative integer'
  run -1 --separate-stderr promo-train-cnn "${small[@]}" --numeric nope -o m.mpz seq.mpz
  assert_equal "$stderr" 'promo-train-cnn: seq.mpz: field "nope": missing in every training record (--users joins a users view)'
  head -3 seq.jsonl | promo-import -q --format jsonl --kind sequences -o three.mpz
  run -1 --separate-stderr promo-train-cnn -q "${small[@]}" -o m.mpz three.mpz
  [[ "$stderr" == 'promo-train-cnn: three.mpz: the validation rows are all '*': the AUC needs both labels (more records, or a larger --valid-frac)' ]] ||
    fail "unexpected: $stderr"
  run -0 ls
  refute_output --partial m.mpz
}

@test "a model that is not a CNN model is refused by name" {
  promo-train-cnn -q "${small[@]}" --epochs 1 -o cnn.mpz seq.mpz
  promo-cat --format jsonl cnn.mpz | sed 's/"filters":8/"filters":0/' > broken.jsonl
  # rebuild the stream with the same header kind (promo-import writes the kind)
  promo-import -q --format jsonl --kind model/cnn -o broken.mpz broken.jsonl
  run -1 --separate-stderr promo-score -m broken.mpz seq.mpz
  assert_equal "$stderr" 'promo-score: broken.mpz: record 1: field "filters": expected an integer from 1 to 4096'
}

@test "usage errors: exit 2 with the option named" {
  run -2 --separate-stderr promo-train-cnn --widths 2,2 seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --widths: 2 is given twice'
  run -2 --separate-stderr promo-train-cnn --tokens ev seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --tokens: expected FIELD:WIDTH, got "ev"'
  run -2 --separate-stderr promo-train-cnn --dropout 1 seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --dropout: expected 0 to 0.95, got 1'
  run -2 --separate-stderr promo-train-cnn --hidden 8,8,8 seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --hidden: at most 2 values, got "8,8,8"'
  run -2 --separate-stderr promo-train-cnn --model logreg seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --model logreg needs --numeric: the features of the baseline'
  run -2 --separate-stderr promo-train-cnn --pool sum seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: --pool: expected max, mean or max,mean, got "sum"'
  run -2 --separate-stderr promo-train-cnn --valid seq.mpz seq.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-train-cnn: "seq.mpz" is both an input and --users or --valid'
}

@test "--bench-gemm prints the sgemm rate and writes no model" {
  run -0 --separate-stderr promo-train-cnn --bench-gemm 64
  assert_output --regexp '^[0-9]+\.[0-9] [A-Za-z0-9]+$'
}

@test "the Taobao pipeline reports both AUCs (when the data set is present)" {
  [ -f "$DATASETS/taobao-userbehavior-head/UserBehavior_head_814users.csv.gz" ] ||
    skip "the Taobao data set is not in $DATASETS"
  run -0 make -s -f "$TESTS_DIR/../pipelines/taobao-intent.mk" BIN="$PROMO_BIN" DATASETS="$DATASETS" \
    OUT="$BATS_TEST_TMPDIR/tb" SEEDS="1 2"
  assert_line 'users: 814, of whom 149 buy on the last day'
  assert_line --regexp '^1 +244 +0\.[0-9]{4} +0\.[0-9]{4}$'
  assert_line --regexp '^mean +0\.[0-9]{4} +0\.[0-9]{4}$'
  assert_line --regexp '^the CNN has the higher validation AUC on [012] of 2 splits$'
}
