# A shell CGI (run by `cgi .sh /bin/sh;`): reads the query string.
html() { printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g'; }
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
cat <<HTML
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hello from /bin/sh</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>Hello from /bin/sh</h1>
<p>Method <code>$(html "$REQUEST_METHOD")</code>, query string <code>$(html "$QUERY_STRING")</code>.</p>
<p>Served by $(html "$SERVER_SOFTWARE") at $(date -u '+%Y-%m-%d %H:%M') UTC.</p>
<p><a href="hello.sh?name=you">Try another query</a> · <a href="/">Home</a></p>
<footer>webserv demo site</footer>
</body>
</html>
HTML
