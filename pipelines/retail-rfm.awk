# RFM per customer from UCI Online Retail rows, as CSV with the columns
# InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID (what promo-cat
# --fields prints).  Rows kept: a customer id, an invoice that is not a
# cancellation (InvoiceNo starting with C), Quantity > 0 and UnitPrice > 0.
#   recency_days   days from the customer's last invoice day to the day
#                  after the last invoice day in the data (the snapshot)
#   frequency      distinct invoices
#   monetary       sum of Quantity * UnitPrice
#   log_frequency, log_monetary   their natural logarithms
# Used by pipelines/retail-segments.mk; see docs/retail-segments.md.

# Days since 1970-01-01 of "YYYY-MM-DD..." (H. Hinnant's days_from_civil).
function day(s,   y, m, d, era, yoe, doy, doe) {
    y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
    y -= m <= 2
    era = int((y >= 0 ? y : y - 399) / 400)
    yoe = y - era * 400
    doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
    doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
    return era * 146097 + doe - 719468
}
BEGIN { FS = ","; last = -1 }
NR == 1 { next }
$5 == "" || substr($1, 1, 1) == "C" || $3 <= 0 || $4 <= 0 { next }
{
    c = $5; t = day($2)
    if (t > last) last = t
    if (!(c in lastday) || t > lastday[c]) lastday[c] = t
    if (!((c, $1) in inv)) { inv[c, $1] = 1; freq[c]++ }
    money[c] += $3 * $4
}
END {
    print "customer,recency_days,frequency,monetary,log_frequency,log_monetary"
    for (c in freq)
        printf "%s,%d,%d,%.2f,%.6f,%.6f\n", c, last + 1 - lastday[c], freq[c], money[c],
               log(freq[c]), log(money[c])
}
