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
print(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>counter</title>
<style>body{{font-family:system-ui,sans-serif;margin:3em auto;max-width:36em}}</style></head>
<body><h1>You have visited this page {count} time{'s' if count != 1 else ''}</h1>
<p>The count is kept in a cookie set by this Python CGI. <a href="counter.py">Reload</a> · <a href="/">Home</a></p>
</body></html>""")
