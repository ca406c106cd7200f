/*
 * Functions with no bound on what they write. Including this header after the
 * system headers turns any use of them into a compile error.
 */
#ifndef REEL_BANNED_H
#define REEL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_use_snprintf_or_xstrdup

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)

#endif
