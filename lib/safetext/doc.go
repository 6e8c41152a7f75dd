// Package safetext shows untrusted text (object names, field values,
// messages from repositories, clusters and webhooks) in a terminal, a
// Markdown comment or ticket, a web page or a chat message without
// letting it act. It is the one place plinth escapes such text; the
// writers of lib/diff, lib/drift and lib/notify only choose a form.
//
// The forms:
//
//   - [Escape]: one line, nothing lost. Control characters, line and
//     paragraph separators, bidirectional-text controls, zero-width
//     spaces and invalid UTF-8 become visible Go escapes ("\x1b",
//     "\u202e"), each newline the caller's choice (`\n` in diffs, "⏎" in
//     reports), so a value cannot move the cursor, recolour a terminal,
//     forge lines or reorder or hide what a reviewer reads.
//   - [Compact]: one short line for a chat message or a form field, where
//     escapes would be noise: the same characters removed, white space
//     collapsed, cut to a number of characters with "…".
//   - [CodeSpan], [CodeBlock], [MarkdownText] and [TableCell]: Markdown
//     (CommonMark and GitHub's extensions) that shows the text as it is
//     and interprets none of it: no closing a span or fence early, no
//     HTML, links, emphasis, mentions or table cells of its own.
//   - [Cut]: at most n bytes, at a character boundary, for a size limit.
//
// What is taken as unsafe is [Unsafe]. The zero-width joiners (U+200C,
// U+200D) are kept: scripts and emoji need them.
package safetext
