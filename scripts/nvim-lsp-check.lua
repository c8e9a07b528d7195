-- Run by nvim-lsp-check.sh inside headless Neovim, with README.md's configuration as
-- init.lua and conf/site.conf open. Checks each capability through Neovim's own client
-- and prints what it got; exits 1 at the first failure.

local failures = 0
local function out(s) io.stdout:write(s .. "\n") end
local function check(ok, what, got)
  out((ok and "ok    " or "FAIL  ") .. what .. (got and (": " .. got) or ""))
  if not ok then failures = failures + 1 end
end
local function finish()
  out(failures == 0 and "all checks passed" or (failures .. " checks failed"))
  vim.cmd(failures == 0 and "qa!" or "cquit 1")
end

local buf = vim.api.nvim_get_current_buf()
check(vim.bo.filetype == "webserv", "filetype mapped", vim.bo.filetype)

local function diags() return vim.diagnostic.get(buf) end
vim.wait(20000, function() return #diags() > 0 end, 20)
local d = diags()[1]
check(d ~= nil, "diagnostics published")
if d == nil then return finish() end
local code = (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or d.code
out(string.format("      %d:%d %s [%s] %s", d.lnum + 1, d.col + 1, d.source or "", tostring(code), d.message))
check(code == "schema::unknown-directive" and d.lnum == 7 and d.col == 8, "diagnostic code and place")

local function at(line, col)
  vim.api.nvim_win_set_cursor(0, { line, col })
  return vim.lsp.util.make_position_params()
end
local function request(method, params)
  local res = vim.lsp.buf_request_sync(buf, method, params, 10000) or {}
  for _, r in pairs(res) do
    if r.error then return nil, r.error end
    return r.result
  end
end

-- Hover on `location /`: its effective settings.
local hover = request("textDocument/hover", at(6, 5))
local text = hover and hover.contents and hover.contents.value or ""
check(text:find("| `autoindex` | `on` | `", 1, true) ~= nil, "hover shows effective values",
  text:match("| `autoindex`[^\n]*"))

-- Completion inside the location: `autoindex`, never `listen`.
vim.api.nvim_buf_set_lines(buf, 8, 8, false, { "        autoi" })
local items = request("textDocument/completion", at(9, 13)) or {}
items = items.items or items
local labels = {}
for _, i in ipairs(items) do labels[i.label] = true end
check(labels["autoindex"] and not labels["listen"], "completion in a location",
  tostring(#items) .. " items")
vim.api.nvim_buf_set_lines(buf, 8, 9, false, {})

-- Definition of the include: the snippet file.
local def = request("textDocument/definition", at(7, 20)) or {}
local target = def[1] and (def[1].uri or def[1].targetUri) or ""
check(target:find("snippets/list.conf", 1, true) ~= nil, "definition of an include", target)

-- The quick fix for `indx`, applied; the diagnostics clear.
local params = { textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = { start = { line = 7, character = 9 }, ["end"] = { line = 7, character = 9 } },
  context = { diagnostics = {} } }
local actions = request("textDocument/codeAction", params) or {}
check(actions[1] ~= nil and actions[1].title == "replace with `index`", "quick fix offered",
  actions[1] and actions[1].title)
if actions[1] then
  vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
  vim.wait(20000, function() return #diags() == 0 end, 20)
  check(#diags() == 0, "diagnostics cleared after the fix",
    vim.api.nvim_buf_get_lines(buf, 7, 8, false)[1])
end

-- Formatting: fmt's layout.
vim.api.nvim_buf_set_lines(buf, 1, 2, false, { "listen    8080 ;" })
local edits = request("textDocument/formatting",
  { textDocument = { uri = vim.uri_from_bufnr(buf) }, options = { tabSize = 4, insertSpaces = true } }) or {}
vim.lsp.util.apply_text_edits(edits, buf, "utf-16")
local line = vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1]
check(line == "    listen 8080;", "formatting", line)

-- Explain from the editor.
local explained = request("workspace/executeCommand",
  { command = "webserv.explain", arguments = { vim.uri_from_bufnr(buf), "http://example.com/errors/404.html" } })
check(type(explained) == "string" and explained:find("location  /errors/", 1, true) ~= nil,
  "webserv.explain", explained and explained:match("location[^\n]*"))

finish()
