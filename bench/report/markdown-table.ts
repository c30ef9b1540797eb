/** A whole number with thousands separators, or a dash for a figure not measured. */
export const n = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');

export function table(header: string[], rows: string[][]): string {
  return `${[`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')}\n`;
}
