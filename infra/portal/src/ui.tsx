// The few building blocks every screen uses: dialogs, notices, a language switch.
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import type { Language } from "./api";
import { language, setLanguage, t } from "./i18n";

export function Dialog(props: { title: string; children: ComponentChildren; busy?: boolean }) {
  const id = useId();
  return (
    <div class="backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={id} aria-busy={props.busy ? "true" : "false"}>
        <h2 id={id}>{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}

/** A refusal or a success, said in a sentence. */
export function Notice(props: { kind: "error" | "success" | "info"; children: ComponentChildren }) {
  return (
    <p class={`notice notice-${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </p>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? t("loading")}
    </div>
  );
}

export function LanguageSwitch(props: { onChange?: (lang: Language) => void }) {
  return (
    <label class="language">
      {t("lang.label")}{" "}
      <select
        value={language.value}
        onChange={(event) => {
          const lang = (event.currentTarget as HTMLSelectElement).value as Language;
          setLanguage(lang);
          props.onChange?.(lang);
        }}
      >
        <option value="en">{t("lang.en")}</option>
        <option value="de">{t("lang.de")}</option>
      </select>
    </label>
  );
}

/** "Show more" under a paged table, while the last page had a `nextCursor`. */
export function ShowMore(props: { cursor: string | null; onMore: (cursor: string) => void }) {
  const cursor = props.cursor;
  if (!cursor) return null;
  return (
    <button type="button" onClick={() => props.onMore(cursor)}>
      {t("inv.more")}
    </button>
  );
}

export function navigate(hash: string) {
  if (location.hash !== hash) location.hash = hash;
}
