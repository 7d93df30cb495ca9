/*
 * names — see names.h. The alphabet is shared by client ids and channel
 * names so that both can be embedded in Redis channel names unescaped.
 */
#include "names.h"

#include <string.h>

static int names_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
	       c == '@' || c == '-';
}

static int names_valid(const char *s, size_t len, size_t max)
{
	if (!s || !len || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!names_char_ok((unsigned char)s[i]))
			return 0;
	return 1;
}

int names_valid_client_id(const char *s, size_t len)
{
	return names_valid(s, len, NAMES_CLIENT_ID_MAX);
}

int names_valid_channel(const char *s, size_t len)
{
	return names_valid(s, len, NAMES_CHANNEL_MAX);
}

int names_is_reserved(const char *s, size_t len)
{
	return s && len && s[0] == '$';
}

int names_subscribable(const char *s, size_t len)
{
	if (names_is_reserved(s, len))
		return len == strlen(NAMES_SYS_CHANNEL) &&
		       !memcmp(s, NAMES_SYS_CHANNEL, len);
	return names_valid_channel(s, len);
}
