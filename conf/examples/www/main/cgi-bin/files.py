"""Lists the files in the upload store as JSON: a CGI script answering for programs."""
import json
import os

store = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "uploads")
files = []
for name in sorted(os.listdir(store)):
    path = os.path.join(store, name)
    if name.startswith(".") or not os.path.isfile(path):
        continue
    files.append({"name": name, "size": os.path.getsize(path)})
print("Content-Type: application/json")
print("Cache-Control: no-store")
print()
print(json.dumps({"files": files}))
