#!/bin/sh
# Verifies README.md's Neovim setup for real: the README's Lua block as init.lua, a
# headless Neovim (0.7 or later) driving the built `webserv lsp` through its built-in
# client (scripts/nvim-lsp-check.lua says what is checked). Exit 0 when all passed.
set -eu
cd "$(dirname "$0")/.."
command -v nvim >/dev/null || { echo "nvim not found (apt-get install -y neovim)" >&2; exit 2; }
cargo build -q
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/<!-- nvim-config:begin -->/{f=1;next} /<!-- nvim-config:end -->/{f=0} f' README.md \
    | sed '/^```/d' > "$tmp/init.lua"
mkdir -p "$tmp/conf/snippets" "$tmp/conf/errors"
printf 'not found\n' > "$tmp/conf/errors/404.html"
printf 'autoindex on;\n' > "$tmp/conf/snippets/list.conf"
cat > "$tmp/conf/site.conf" <<'CONF'
server {
    listen 8080;
    server_name example.com;
    root .;
    error_page 404 /errors/404.html;
    location / {
        include snippets/list.conf;
        indx index.html;
    }
    location /errors/ {
    }
}
CONF
cd "$tmp"
PATH="$OLDPWD/target/debug:$PATH" nvim --headless -u "$tmp/init.lua" \
    -c "luafile $OLDPWD/scripts/nvim-lsp-check.lua" "$tmp/conf/site.conf"
