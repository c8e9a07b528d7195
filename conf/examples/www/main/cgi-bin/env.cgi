#!/bin/sh
# Prints the CGI environment and echoes the request body (the bad-request corpus reads
# it as plain text); a browser, which asks for HTML, gets it as a page of the demo site.
vars() {
    env | sort | grep -E '^(GATEWAY_INTERFACE|SERVER_|REQUEST_|QUERY_STRING|CONTENT_|SCRIPT_|PATH_INFO|PATH_TRANSLATED|REMOTE_|REDIRECT_STATUS|HTTP_)'
    if [ -n "$CONTENT_LENGTH" ]; then echo "BODY:"; head -c "$CONTENT_LENGTH"; echo; fi
}
case "$HTTP_ACCEPT" in
*text/html*)
    printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
    cat <<'HTML'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The CGI environment</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>The CGI environment</h1>
<p>The meta-variables webserv gave this shell script (RFC 3875), sorted.</p>
<pre>
HTML
    vars | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'
    cat <<'HTML'
</pre>
<p><a href="/">Home</a></p>
<footer>webserv demo site</footer>
</body>
</html>
HTML
    ;;
*)
    printf 'Content-Type: text/plain\r\n\r\n'
    vars
    ;;
esac
