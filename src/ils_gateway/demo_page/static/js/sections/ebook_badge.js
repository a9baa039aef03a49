// The mark of an e-book among the loans and holds (the API merges the e-library's entries into
// its lists with `source: "ebook"`).
export function ebookBadge(ctx, entry) {
  if (entry.source !== 'ebook') return '';
  return [ctx.h('span', { class: 'badge ebook' }, ctx.t('ebook.badge')), ' '];
}
