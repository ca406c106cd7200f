/*
 * HTTP/1.1 request parsing for the server's connections (llhttp callbacks).
 */
#ifndef REEL_HTTP_PARSE_H
#define REEL_HTTP_PARSE_H

#include <llhttp.h>

#include "http_server_int.h"

/* The callbacks a connection's parser runs with (parser.data is its struct conn). */
extern const llhttp_settings_t http_parse_settings;

#endif
