"""A session counter: the count lives in a cookie the script sets and reads."""
import os
from http import cookies

jar = cookies.SimpleCookie(os.environ.get("HTTP_COOKIE", ""))
try:
    count = int(jar["visits"].value) + 1 if "visits" in jar else 1
except ValueError:
    count = 1
print("Content-Type: text/html; charset=utf-8")
print(f"Set-Cookie: visits={count}; Path=/; SameSite=Lax")
print("Set-Cookie: demo=webserv; Path=/; SameSite=Lax")
print()
times = "once" if count == 1 else f"{count} times"
print(f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Visit counter</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>You have visited this page {times}</h1>
<p>The count is kept in a cookie (<code>visits={count}</code>) that this Python CGI script
sets and reads back.</p>
<p><a href="counter.py">Count again</a> · <a href="/">Home</a></p>
<footer>webserv demo site</footer>
</body>
</html>""")
