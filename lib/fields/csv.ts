// A small RFC 4180-style reader for one line of a counters file: comma-separated fields, a field
// may be double-quoted (then it may hold commas, and "" stands for one quote), spaces around a
// field are trimmed. Quoted fields do not span lines (a counters row is one line).

export type CsvLineResult = { ok: true; fields: string[] } | { ok: false; error: string };

export function parseCsvLine(line: string): CsvLineResult {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) return { ok: false, error: `unterminated quoted field (column ${fields.length + 1}); close the quote` };
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
      if (i < n && line[i] !== ',') {
        return { ok: false, error: `unexpected text after the closing quote in column ${fields.length + 1}` };
      }
      fields.push(value.trim());
    } else {
      const end = line.indexOf(',', i);
      const raw = end === -1 ? line.slice(i) : line.slice(i, end);
      if (raw.includes('"')) {
        return { ok: false, error: `stray '"' in column ${fields.length + 1}; quote the whole field ("…") and double any quote inside it` };
      }
      fields.push(raw.trim());
      i = end === -1 ? n : end;
    }
    if (i >= n) break;
    i++; // the comma
  }
  return { ok: true, fields };
}
