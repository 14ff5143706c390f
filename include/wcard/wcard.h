/* wcard.h: the whole libwcard user-space API, one include for each part; user space only. */
#ifndef WCARD_H
#define WCARD_H

#include <wcard/base.h> /* shared types, the print hook */
#include <wcard/rules.h> /* layouts, rules, rule/trace/route files, compiled keys */
#include <wcard/lpm.h> /* longest-prefix match */
#include <wcard/clf.h> /* the classifier */
#include <wcard/probe.h> /* kernel features, the BPF build, load hints, bpffs */

#endif /* WCARD_H */
