// The CloudHub reference portal: every screen of the invitations feature against the real API.
// Routes live in the URL's fragment (`#/c/100234/users`), so that an invitation link's token
// (`#/invitations/<token>`) never reaches a server's log.
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, isProblem, type Me, ok, type Permission, type Problem, session, whenSessionLost } from "./api";
import { language, onLanguageChange, sentence, setLanguage, t } from "./i18n";
import { DeleteAccount, WaitingInvitations } from "./account";
import { InvitationPage } from "./invitation";
import { CustomerShell } from "./portal";
import { LanguageSwitch, Loading, navigate, Notice } from "./ui";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash.replace(/^#\/?/, "");
}

/** Where a signed-in user lands: the screen the API names. */
export function landing(me: Me): string {
  if (me.screen === "no-access") return "#/no-access";
  if (me.screen === "choose-customer") return "#/choose";
  const only = me.customers[0];
  return only ? `#/c/${only.customerNumber}/home` : "#/no-access";
}

export type Session = {
  me: Me;
  /** Reads `/me` again (after a change, or to see rights arrive). */
  refresh: () => Promise<Me | null>;
  logOut: (stay?: boolean) => Promise<void>;
  /** Forgets a session the API has ended already (the account was deleted), then goes to `hash`. */
  ended: (hash: string) => void;
  /** Per customer, the tour steps due when this session logged in: the tour shows at log-in,
   * not when rights arrive during a session. */
  tourAtLogin: Record<string, Permission[]>;
};

function App() {
  const route = useHash();
  const [me, setMe] = useState<Me | null>(null);
  const [token, setToken] = useState(session.get());
  const [tourAtLogin, setTourAtLogin] = useState<Record<string, Permission[]>>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const [, setRenders] = useState(0);

  useEffect(() => onLanguageChange(() => setRenders((n) => n + 1)), []);

  const refresh = useCallback(async () => {
    if (!session.get()) return null;
    try {
      const current = await ok(api.GET("/me"));
      setMe(current);
      setLanguage(current.user.language);
      setProblem(null);
      return current;
    } catch (error) {
      if (isProblem(error)) setProblem(error);
      return null;
    }
  }, []);

  const signedIn = useCallback(
    async (sessionToken: string, target?: string) => {
      session.set(sessionToken);
      setToken(sessionToken);
      const current = await refresh();
      if (current) {
        setTourAtLogin(Object.fromEntries(current.customers.map((c) => [c.customerNumber, c.tour])));
        navigate(target ?? landing(current));
      }
    },
    [refresh],
  );

  /** Ends the session; `stay` keeps the page (the invitation page continues as someone else). */
  const logOut = useCallback(async (stay?: boolean) => {
    await api.POST("/auth/logout").catch(() => undefined);
    session.clear();
    setToken(null);
    setMe(null);
    setTourAtLogin({});
    if (!stay) navigate("#/login");
  }, []);

  const ended = useCallback((hash: string) => {
    session.clear();
    setToken(null);
    setMe(null);
    setTourAtLogin({});
    navigate(hash);
  }, []);

  useEffect(() => {
    whenSessionLost(() => {
      session.clear();
      setToken(null);
      setMe(null);
    });
  }, []);

  useEffect(() => {
    if (token && !me) void refresh();
  }, [token, me, refresh]);

  document.documentElement.lang = language.value;

  if (route.startsWith("invitations/")) {
    return <InvitationPage token={route.slice("invitations/".length)} me={me} onSignedIn={signedIn} onLogOut={logOut} />;
  }
  // A link into the portal (an email's button, a bookmark) leads there once logged in.
  const deepLink = /^(c|customers)\//.test(route) ? `#/${route}` : undefined;
  if (!token) {
    return (
      <Login
        onSignedIn={(sessionToken) => signedIn(sessionToken, deepLink)}
        notice={route === "account-deleted" ? t("account.deleted") : undefined}
      />
    );
  }
  if (!me) return problem ? <Notice kind="error">{sentence(problem)}</Notice> : <Loading />;

  const current: Session = { me, refresh, logOut, ended, tourAtLogin };
  if (me.screen === "no-access" || me.customers.length === 0) {
    if (route !== "no-access") navigate("#/no-access");
    return <NoAccess session={current} />;
  }
  if (route === "choose") return <Choose session={current} />;
  // Where the member-left email points (`{base}/customers/{number}/users`) and the renewal
  // request's (`{base}/customers/{number}/invitations/{id}`).
  const emailLink = /^customers\/([^/]+)\/(users|invitations\/[^/]+)$/.exec(route);
  if (emailLink) {
    navigate(`#/c/${emailLink[1]}/user-management/${emailLink[2]}`);
    return <Loading />;
  }
  const match = /^c\/([^/]+)\/?(.*)$/.exec(route);
  const access = match && me.customers.find((c) => c.customerNumber === match[1]);
  if (!match || !access) {
    navigate(landing(me));
    return <Loading />;
  }
  return <CustomerShell session={current} access={access} page={match[2] || "home"} />;
}

function Login(props: { onSignedIn: (token: string) => Promise<void>; notice?: string }) {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [, setRenders] = useState(0);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setProblem(null);
    try {
      const answer = await ok(
        api.POST("/auth/login", {
          body: { email: String(form.get("email")), password: String(form.get("password")) },
        }),
      );
      await props.onSignedIn(answer.sessionToken);
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="narrow">
      <header class="topbar">
        <span class="brand">{t("app.name")}</span>
        <LanguageSwitch onChange={() => setRenders((n) => n + 1)} />
      </header>
      <h1>{t("login.title")}</h1>
      {props.notice && <Notice kind="success">{props.notice}</Notice>}
      <form onSubmit={submit} class="stack">
        <label>
          {t("login.email")}
          <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {problem && <Notice kind="error">{sentence(problem)}</Notice>}
        <button type="submit" class="primary" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </main>
  );
}

function Choose(props: { session: Session }) {
  const { me, logOut } = props.session;
  return (
    <main class="narrow">
      <header class="topbar">
        <span class="brand">{t("app.name")}</span>
        <button type="button" class="link" onClick={() => logOut()}>
          {t("nav.logout")}
        </button>
      </header>
      <h1>{t("choose.title")}</h1>
      <p>{t("choose.intro")}</p>
      <ul class="choices">
        {me.customers.map((customer) => (
          <li key={customer.customerNumber}>
            <a href={`#/c/${customer.customerNumber}/home`}>
              {t("choose.customer", { company: customer.companyName, number: customer.customerNumber })}
            </a>
          </li>
        ))}
      </ul>
      <WaitingInvitations session={props.session} />
    </main>
  );
}

/** No customer left: the invitations waiting for the account, its language, deleting it, log-out. */
function NoAccess(props: { session: Session }) {
  const { me } = props.session;
  const [saved, setSaved] = useState(false);
  return (
    <main class="narrow" data-screen="no-access">
      <header class="topbar">
        <span class="brand">{t("app.name")}</span>
        <button type="button" class="link" onClick={() => props.session.logOut()}>
          {t("nav.logout")}
        </button>
      </header>
      <h1>{t("noaccess.title")}</h1>
      {/* The portal words `noAccessCode` itself: the API's own sentence knows nothing of the
          invitations and the deletion offered right here. */}
      <p data-code={me.noAccessCode}>{t("noaccess.body")}</p>
      <WaitingInvitations session={props.session} />
      <h2>{t("nav.settings")}</h2>
      <LanguageSwitch
        onChange={async (lang) => {
          await ok(api.PUT("/me/settings", { body: { language: lang } }));
          await props.session.refresh();
          setSaved(true);
        }}
      />
      {saved && <Notice kind="success">{t("settings.saved")}</Notice>}
      {me.canDeleteAccount && <DeleteAccount session={props.session} />}
    </main>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
