/** Pieces every page uses: loading a route's answer, showing a refusal, an event's full record. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, type StoredEvent } from './api.js';

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'failed'; error: string; status: number };

/** Runs `load` whenever `deps` change; the answer, or why there is none. A stale answer never overwrites a newer one. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ state: 'loading' });
    load(controller.signal).then(
      (value) => !controller.signal.aborted && setLoaded({ state: 'ok', value }),
      (error: Error) => {
        if (controller.signal.aborted) return;
        setLoaded({ state: 'failed', error: error.message, status: error instanceof ApiFailure ? error.status : 0 });
      },
    );
    return () => controller.abort();
  }, deps);
  return loaded;
}

export function Problem({ children, status }: { children: ComponentChildren; status?: number }) {
  return (
    <div class="problem" role="alert">
      <p>{children}</p>
      {status === 401 && (
        <p>
          <a href="#/signin">Sign in again</a>
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export const time = (iso: string) => iso.replace('T', ' ').replace('Z', '').slice(0, 23);
export const clock = (iso: string) => iso.slice(11, 23);

export function EventDetail({ event, onClose }: { event: StoredEvent; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Keyboard and screen-reader users land on the record they asked for.
  useEffect(() => heading.current?.focus(), [event.event_id]);
  return (
    <section class="detail" aria-labelledby="detail-title">
      <div class="detail-head">
        <h2 id="detail-title" ref={heading} tabIndex={-1}>
          Event {event.event_id}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <dl class="facts">
        <dt>User</dt>
        <dd>
          <a href={`#/users/${encodeURIComponent(event.user_id)}`}>{event.user_id}</a>
        </dd>
        <dt>Action</dt>
        <dd>{event.action}</dd>
        <dt>Event time</dt>
        <dd>{time(event.timestamp)}</dd>
        <dt>Received</dt>
        <dd>{time(event.received_at)}</dd>
      </dl>
      <pre class="record" tabIndex={0} aria-label="The full record, as JSON">
        {JSON.stringify(event, null, 2)}
      </pre>
    </section>
  );
}

/** A labelled text input. */
export function Field({ label, value, onInput, type = 'text', placeholder, id }: { label: string; value: string; onInput: (v: string) => void; type?: 'text' | 'number'; placeholder?: string | undefined; id: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {type === 'number' ? (
        <input id={id} type="number" value={value} onInput={(e) => onInput(e.currentTarget.value)} />
      ) : (
        <input id={id} type="text" list={undefined} value={value} {...(placeholder ? { placeholder } : {})} onInput={(e) => onInput(e.currentTarget.value)} />
      )}
    </div>
  );
}

export function Select<T extends string>({ label, value, options, onChange, id }: { label: string; value: T; options: Array<[T, string]>; onChange: (v: T) => void; id: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as T)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * A table in a scrollable region: the region takes keyboard focus so that a
 * table wider than the screen can be scrolled without a mouse. Rows are the children.
 */
export function Table({
  label,
  columns,
  children,
  class: tableClass,
  scrollClass,
  scrollLabel = 'Table, scrollable',
}: {
  label: string;
  columns: string[];
  children: ComponentChildren;
  class?: string;
  scrollClass?: string;
  scrollLabel?: string;
}) {
  return (
    <div class={scrollClass ? `table-scroll ${scrollClass}` : 'table-scroll'} tabIndex={0} role="region" aria-label={scrollLabel}>
      <table {...(tableClass ? { class: tableClass } : {})} aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** An event row's cells after its time: the user (linking to its page), the action, and a button that shows the record. */
export function EventCells({ event, onShow }: { event: StoredEvent; onShow: (event: StoredEvent) => void }) {
  return (
    <>
      <td>
        <a href={`#/users/${encodeURIComponent(event.user_id)}`}>{event.user_id}</a>
      </td>
      <td>{event.action}</td>
      <td>
        <button type="button" class="link" onClick={() => onShow(event)}>
          Show<span class="visually-hidden"> the record of {event.action} by {event.user_id}</span>
        </button>
      </td>
    </>
  );
}

/** A form's button, in a field of its own, aligned with the labelled inputs beside it. */
export function ButtonField({ children }: { children: ComponentChildren }) {
  return (
    <div class="field">
      <span class="label-spacer" aria-hidden="true">
        &nbsp;
      </span>
      {children}
    </div>
  );
}
