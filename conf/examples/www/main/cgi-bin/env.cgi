#!/bin/sh
# Prints the CGI environment and echoes the request body (used by the bad-request corpus).
printf 'Content-Type: text/plain\r\n\r\n'
env | sort | grep -E '^(GATEWAY_INTERFACE|SERVER_|REQUEST_|QUERY_STRING|CONTENT_|SCRIPT_|PATH_INFO|PATH_TRANSLATED|REMOTE_|REDIRECT_STATUS|HTTP_)'
if [ -n "$CONTENT_LENGTH" ]; then echo "BODY:"; head -c "$CONTENT_LENGTH"; echo; fi
