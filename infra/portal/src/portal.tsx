// The portal of one customer: the navigation the API allows, the info banner of a member without
// rights, the welcome tour, Home, FAQ, Feedback, the areas, and Settings with leaving.
import { useEffect, useState } from "preact/hooks";
import { DeleteAccount, NotifyOnAccept, WaitingInvitations } from "./account";
import { api, type CustomerAccess, isProblem, ok, type Page, type Permission, type Problem } from "./api";
import { type Key, sentence, setLanguage, t } from "./i18n";
import type { Session } from "./main";
import { Dialog, LanguageSwitch, navigate, Notice } from "./ui";
import { UserManagement } from "./users";

/** While a member has no rights, how often the portal asks whether they arrived. */
const RIGHTS_POLL_MS = 3000;

const NAV: Page[] = ["home", "orders", "invoices", "documents", "user-management", "faq", "settings", "feedback"];
const AREAS: Permission[] = ["orders", "invoices", "documents"];

export function CustomerShell(props: { session: Session; access: CustomerAccess; page: string }) {
  const { session, access } = props;
  const base = `#/c/${access.customerNumber}`;
  const page = props.page.split("/")[0] as Page;

  // The banner disappears by itself: while restricted, read /me again now and then.
  useEffect(() => {
    if (!access.restricted) return;
    const timer = setInterval(() => void session.refresh(), RIGHTS_POLL_MS);
    return () => clearInterval(timer);
  }, [access.restricted, access.customerNumber, session.refresh]);

  const allowed = (p: Page) => access.pages.includes(p);
  if (!allowed(page)) {
    navigate(`${base}/home`);
    return null;
  }
  return (
    <div class="shell">
      <header class="topbar">
        <span class="brand">{t("app.name")}</span>
        <span class="customer">
          {access.companyName} · {access.customerNumber}
        </span>
        <span class="who">{session.me.user.email}</span>
        <button type="button" class="link" onClick={() => session.logOut()}>
          {t("nav.logout")}
        </button>
      </header>
      <nav class="sidebar" aria-label="CloudHub">
        <ul>
          {NAV.filter(allowed).map((p) => (
            <li key={p}>
              <a href={`${base}/${p}`} aria-current={p === page ? "page" : undefined}>
                {t(`nav.${p}` as Key)}
              </a>
            </li>
          ))}
          {allowed("change-customer") && (
            <li>
              <a href="#/choose">{t("nav.change-customer")}</a>
            </li>
          )}
        </ul>
      </nav>
      <main class="content">
        {access.banner && (
          <div class="banner" role="status" data-banner={access.banner}>
            {t(`banner.${access.banner}` as Key)}
          </div>
        )}
        {page === "home" && <Home access={access} waiting={session.me.invitationsWaiting} />}
        {page === "faq" && <Faq />}
        {page === "feedback" && <Feedback />}
        {page === "settings" && <Settings session={session} access={access} />}
        {AREAS.includes(page as Permission) && <Area area={page as Permission} />}
        {page === "user-management" && (
          <UserManagement access={access} tab={props.page.split("/")[1] ?? "users"} focus={props.page.split("/")[2]} />
        )}
      </main>
      <Tour session={session} access={access} />
    </div>
  );
}

function Home(props: { access: CustomerAccess; waiting: number }) {
  return (
    <section>
      <h1>{t("home.title")}</h1>
      <p>{t("home.customer", { company: props.access.companyName, number: props.access.customerNumber })}</p>
      {props.waiting > 0 && (
        <Notice kind="info">
          <a href={`#/c/${props.access.customerNumber}/settings`}>{t("home.waiting", { count: props.waiting })}</a>
        </Notice>
      )}
      {props.access.pages.includes("home-links") && (
        <>
          <h2>{t("home.links")}</h2>
          <ul>
            <li>
              <a href="https://www.cloudhub.example/" rel="noopener">
                {t("home.link.website")}
              </a>
            </li>
            <li>
              <a href="https://www.cloudhub.example/catalogue.pdf" rel="noopener">
                {t("home.link.catalogue")}
              </a>
            </li>
            <li>
              <a href="https://www.cloudhub.example/datasheets.pdf" rel="noopener">
                {t("home.link.datasheets")}
              </a>
            </li>
          </ul>
        </>
      )}
    </section>
  );
}

function Faq() {
  return (
    <section>
      <h1>{t("faq.title")}</h1>
      <dl>
        {(["1", "2", "3"] as const).map((n) => (
          <div key={n}>
            <dt>{t(`faq.q${n}`)}</dt>
            <dd>{t(`faq.a${n}`)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Feedback() {
  const [sent, setSent] = useState(false);
  return (
    <section>
      <h1>{t("feedback.title")}</h1>
      <p>{t("feedback.intro")}</p>
      {sent ? (
        <Notice kind="success">{t("feedback.thanks")}</Notice>
      ) : (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            setSent(true);
          }}
        >
          <textarea name="feedback" rows={5} aria-label={t("feedback.title")} />
          <button type="submit" class="primary">
            {t("feedback.send")}
          </button>
        </form>
      )}
    </section>
  );
}

function Area(props: { area: Permission }) {
  const title = t(`area.title.${props.area}` as Key);
  return (
    <section>
      <h1>{title}</h1>
      <p>{t("area.body", { area: title })}</p>
    </section>
  );
}

/** The welcome tour at log-in: one step per area the member can reach and has not seen. */
function Tour(props: { session: Session; access: CustomerAccess }) {
  const { session, access } = props;
  const [step, setStep] = useState(0);
  const [closed, setClosed] = useState(false);
  const due = session.tourAtLogin[access.customerNumber] ?? [];
  const steps = access.tour.filter((area) => due.includes(area));
  if (closed || steps.length === 0) return null;
  const last = step >= steps.length - 1;
  const done = async () => {
    setClosed(true);
    await api.POST("/me/tour/complete", { body: { customerNumber: access.customerNumber, steps } });
    await session.refresh();
  };
  return (
    <Dialog title={t("tour.title")}>
      <p>{t("tour.intro")}</p>
      <ol class="tour">
        {steps.map((area, index) => (
          <li key={area} class={index === step ? "current" : ""} data-step={area}>
            {t(`tour.step.${area}` as Key)}
          </li>
        ))}
      </ol>
      <div class="actions">
        {last ? (
          <button type="button" class="primary" onClick={done}>
            {t("tour.done")}
          </button>
        ) : (
          <button type="button" class="primary" onClick={() => setStep(step + 1)}>
            {t("tour.next")}
          </button>
        )}
      </div>
    </Dialog>
  );
}

function Settings(props: { session: Session; access: CustomerAccess }) {
  const { session, access } = props;
  const [saved, setSaved] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [stage, setStage] = useState<"none" | "first" | "second">("none");
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const names = { company: access.companyName, number: access.customerNumber };

  const leave = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const answer = await ok(
        api.POST("/me/customers/{customerId}/leave", {
          params: { path: { customerId: access.customerNumber } },
          body: { confirmCustomerNumber: typed.trim() },
        }),
      );
      setStage("none");
      await session.refresh();
      const next = answer.next;
      navigate(next.screen === "home" ? `#/c/${next.customerNumber}/home` : next.screen === "choose-customer" ? "#/choose" : "#/no-access");
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>{t("settings.title")}</h1>
      <h2>{t("settings.language")}</h2>
      <LanguageSwitch
        onChange={async (lang) => {
          setSaved(false);
          await ok(api.PUT("/me/settings", { body: { language: lang } }));
          setLanguage(lang);
          await session.refresh();
          setSaved(true);
        }}
      />
      {saved && <Notice kind="success">{t("settings.saved")}</Notice>}
      {session.me.customers.some((c) => c.admin) && <NotifyOnAccept session={session} />}
      <WaitingInvitations session={session} showEmpty />
      <h2>{t("settings.leave.title")}</h2>
      <p>{t("settings.leave.intro", names)}</p>
      {problem && stage === "none" && <Notice kind="error">{sentence(problem)}</Notice>}
      <button
        type="button"
        class="danger"
        onClick={() => {
          setProblem(null);
          setTyped("");
          setStage("first");
        }}
      >
        {t("settings.leave.button", names)}
      </button>
      {stage === "first" && (
        <Dialog title={t("leave.first.title")}>
          <p>{t("leave.first.body", names)}</p>
          <div class="actions">
            <button type="button" onClick={() => setStage("none")}>
              {t("leave.keep")}
            </button>
            <button type="button" class="danger" onClick={() => setStage("second")}>
              {t("leave.first.continue")}
            </button>
          </div>
        </Dialog>
      )}
      {stage === "second" && (
        <Dialog title={t("leave.second.title")} busy={busy}>
          <form onSubmit={leave} class="stack">
            <p>{t("leave.second.body", names)}</p>
            <label>
              {t("leave.second.label")}
              <input value={typed} onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)} autocomplete="off" />
            </label>
            {problem && <Notice kind="error">{sentence(problem)}</Notice>}
            <div class="actions">
              <button
                type="button"
                onClick={() => {
                  setProblem(null);
                  setStage("none");
                }}
              >
                {t("leave.keep")}
              </button>
              <button type="submit" class="danger" disabled={busy}>
                {t("leave.second.confirm")}
              </button>
            </div>
          </form>
        </Dialog>
      )}
      <DeleteAccount session={session} />
    </section>
  );
}
