/** Number formatting and the Markdown table of the bench reports. */
export const n = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');
export const x = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '' : ` (${value.toFixed(2)}×)`);

export function table(header: string[], rows: string[][]): string {
  return `${[`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')}\n`;
}
