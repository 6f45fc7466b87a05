/**
 * A reader for LVM2's metadata text (`name { key = value ... }`, values: numbers, "strings",
 * [lists]), enough to find a VG's fields, its PV and its LVs' segments. Comments start with '#'.
 */

export type LvmValue = number | string | LvmValue[] | LvmSection;
export interface LvmSection {
  [key: string]: LvmValue;
}

const TOKEN = /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|([A-Za-z0-9_.+\-]+)|([{}[\]=,])/y;

type Token = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'word'; value: string } | { kind: 'punct'; value: string };

function tokens(text: string): Token[] {
  const list: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (match === null) throw new Error(`unexpected character at offset ${at}`);
    if (match[1] !== undefined) list.push({ kind: 'string', value: match[1].replace(/\\(.)/g, '$1') });
    else if (match[2] !== undefined) list.push({ kind: 'number', value: Number(match[2]) });
    else if (match[3] !== undefined) list.push({ kind: 'word', value: match[3] });
    else if (match[4] !== undefined) list.push({ kind: 'punct', value: match[4] });
  }
  return list;
}

/** Parses the text into nested sections; throws an Error saying where it went wrong. */
export function parseLvmText(text: string): LvmSection {
  const list = tokens(text.replace(/\0[\s\S]*$/, ''));
  let at = 0;
  const next = () => {
    const token = list[at++];
    if (token === undefined) throw new Error('the text ends early');
    return token;
  };
  const value = (): LvmValue => {
    const token = next();
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'punct' && token.value === '[') {
      const items: LvmValue[] = [];
      while (list[at]?.value !== ']') {
        items.push(value());
        if (list[at]?.value === ',') at++;
      }
      at++;
      return items;
    }
    throw new Error(`unexpected "${token.value}"`);
  };
  const section = (closing: boolean): LvmSection => {
    const result: LvmSection = {};
    while (at < list.length) {
      const token = next();
      if (token.kind === 'punct' && token.value === '}' && closing) return result;
      if (token.kind !== 'word') throw new Error(`expected a name, found "${token.value}"`);
      const after = next();
      if (after.value === '=') result[token.value] = value();
      else if (after.value === '{') result[token.value] = section(true);
      else throw new Error(`unexpected "${after.value}" after "${token.value}"`);
    }
    if (closing) throw new Error('a section is not closed');
    return result;
  };
  return section(false);
}
