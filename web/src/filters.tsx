/** The filter bar of Live and Search: container globs, host, service, a label, level (and worse), stream. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export type FilterValues = Record<string, string | undefined>;

const LEVELS = ['', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function Filters({ values, onChange, fields, children }: { values: Record<string, string>; onChange: (v: FilterValues) => void; fields: string[]; children?: ComponentChildren }) {
  const [draft, setDraft] = useState<FilterValues>({});
  const value = (k: string) => draft[k] ?? values[k] ?? '';
  const commit = (k: string, v: string) => {
    setDraft((d) => ({ ...d, [k]: undefined }));
    if ((values[k] ?? '') !== v) onChange({ [k]: v || undefined });
  };
  const text = (k: string, placeholder: string, width = 9) => (
    <input
      name={k}
      placeholder={placeholder}
      style={{ width: `${width}em` }}
      value={value(k)}
      onInput={(e) => setDraft((d) => ({ ...d, [k]: (e.target as HTMLInputElement).value }))}
      onBlur={(e) => commit(k, (e.target as HTMLInputElement).value)}
      onKeyDown={(e) => e.key === 'Enter' && commit(k, (e.target as HTMLInputElement).value)}
    />
  );
  return (
    <div class="filters">
      {fields.includes('container') ? text('container', 'containers: web*,db', 12) : null}
      {fields.includes('host') ? text('host', 'host') : null}
      {fields.includes('service') ? text('service', 'service') : null}
      {fields.includes('label') ? text('label', 'label: key=value', 11) : null}
      {fields.includes('level') ? (
        <select name="level" value={values.level ?? ''} onChange={(e) => onChange({ level: (e.target as HTMLSelectElement).value || undefined })} title="this level and worse">
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l ? `${l}+` : 'any level'}
            </option>
          ))}
        </select>
      ) : null}
      {fields.includes('stream') ? (
        <select name="stream" value={values.stream ?? ''} onChange={(e) => onChange({ stream: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">stdout+stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
      ) : null}
      {children}
    </div>
  );
}
