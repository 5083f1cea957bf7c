#ifndef CLIBXML2_SHIM_H
#define CLIBXML2_SHIM_H
// Debian builds libxml2 with ICU; its headers then pull in ICU types that clash with Foundation's.
// Nothing here needs ICU, so switch it off before any other libxml2 header is read.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlIO.h>
#include <libxml/HTMLtree.h>
#include <libxml/xmlerror.h>
#include <libxml/parserInternals.h>

// xmlFree is a global function pointer, which Swift 6 rejects as shared mutable state.
static inline void clibxml2_free(void *p) { xmlFree(p); }

// LIBXML_DOTTED_VERSION is a string macro.
static inline const char *clibxml2_version(void) { return LIBXML_DOTTED_VERSION; }

// xmlStructuredError / xmlStructuredErrorContext are per-thread macros over function calls.
// Reads the calling thread's structured error handler so that it can be restored afterwards.
static inline void clibxml2_get_structured_error(xmlStructuredErrorFunc *handler, void **context) {
  *handler = xmlStructuredError;
  *context = xmlStructuredErrorContext;
}

// xmlStringTextNoenc is an incomplete array, which Swift does not import.
// A text node named with this pointer is written without escaping.
static inline const xmlChar *clibxml2_text_noenc_name(void) { return xmlStringTextNoenc; }
// The ordinary text node name, to undo the above.
static inline const xmlChar *clibxml2_text_name(void) { return xmlStringText; }
#endif
