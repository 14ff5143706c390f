/* ref_parse.h: a user-space reference for wc_parse(), written from its documented rules; tests and fuzz targets only. */
#ifndef WCARD_TESTS_REF_PARSE_H
#define WCARD_TESTS_REF_PARSE_H

#include <stddef.h>
#include <wcard/wcard_common.h>

/*
 * Parse frame[0..len) the way include/wcard/parse.bpf.h documents it, without
 * sharing its code: returns an enum wc_parse_status and fills *pkt (VLAN tags
 * read before the verdict stay; every L3/L4 field is zero unless OK).
 */
int ref_parse(const __u8 *frame, size_t len, struct wc_pkt *pkt);

#endif /* WCARD_TESTS_REF_PARSE_H */
