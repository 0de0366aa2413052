# Sum metrics records given as CSV lines task,metric,group,value (after a
# line of names) by (task, metric, group), in the order first seen: the
# per-part reports of a sharded stage added up (pipelines/sharded.mk).
NR == 1 { print; next }
{
  k = $1 FS $2 FS $3
  if (!(k in sum)) order[++n] = k
  sum[k] += $4
}
END { for (i = 1; i <= n; i++) printf "%s,%d\n", order[i], sum[order[i]] }
