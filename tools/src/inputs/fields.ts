import { z } from 'zod';
import { MESSAGES, quoted } from '../messages.ts';

/** A field parser: the parsed value, or the rule the text broke (the text itself is quoted by the caller). */
export type FieldParser<T> = (text: string) => { value: T } | { rule: string };

/** A zod schema for one CSV column that quotes the offending text (escaped: tables may be binary junk) in its message. */
export function csvField<T>(parse: FieldParser<T>) {
  return z.string().transform((text, ctx): T => {
    const result = parse(text);
    if ('rule' in result) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${quoted(text)}: ${result.rule}` });
      return z.NEVER;
    }
    return result.value;
  });
}

/**
 * A whole number in [min, max], with `unit` named in the message; `limitRule` says why a larger
 * value exceeds the format's limit.
 */
export function wholeNumber(unit: string, min: number, max = Number.MAX_SAFE_INTEGER, limitRule?: string): FieldParser<number> {
  return (text) => {
    if (!/^-?\d+$/.test(text)) return { rule: `expected a whole number of ${unit}` };
    const value = Number(text);
    if (value < min) return { rule: min === 1 ? `must be greater than zero` : `must be at least ${min}` };
    if (!Number.isSafeInteger(value) || value > max) {
      return { rule: limitRule === undefined ? `must be at most ${max}` : MESSAGES.exceedsLimit(`more than ${max}`, limitRule) };
    }
    return { value };
  };
}

/** An identifier: starts with a letter or digit, then letters, digits, `_`, `.` or `-`. */
export function identifier(maxLength: number): FieldParser<string> {
  return (text) => {
    if (text === '') return { rule: 'a name is required' };
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(text)) {
      return { rule: 'expected letters, digits, "_", ".", "+" or "-", starting with a letter or digit' };
    }
    if (text.length > maxLength) return { rule: `longer than ${maxLength} characters` };
    return { value: text };
  };
}
