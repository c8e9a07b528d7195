# A shell CGI (run by `cgi .sh /bin/sh;`).
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
cat <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><title>shell CGI</title></head>
<body><h1>Hello from /bin/sh</h1>
<p>Method: $REQUEST_METHOD, query: <code>$(printf '%s' "$QUERY_STRING" | sed 's/&/\&amp;/g; s/</\&lt;/g')</code></p>
<p>Served by $SERVER_SOFTWARE at $(date -u '+%H:%M:%S') UTC.</p>
<p><a href="/">Home</a></p></body></html>
HTML
