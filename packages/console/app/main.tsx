/** The console: sign-in, then one page per route inside the layout; the live feed runs while signed in. */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout } from './components/Layout';
import { startLive, stopLive } from './live';
import { Alerts } from './pages/Alerts';
import { Audit } from './pages/Audit';
import { Hosts } from './pages/Hosts';
import { Hunt } from './pages/Hunt';
import { IncidentDetail } from './pages/IncidentDetail';
import { Incidents } from './pages/Incidents';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { ResponsePage } from './pages/Response';
import { Rules } from './pages/Rules';
import { Settings } from './pages/Settings';
import { route } from './router';
import { session } from './session';
import './styles.css';

function App() {
  const signedIn = session.value !== undefined;
  useEffect(() => {
    if (!signedIn) return;
    startLive();
    return stopLive;
  }, [signedIn]);
  if (!signedIn) return <Login />;
  return <Layout>{page()}</Layout>;
}

function page() {
  const [section, id] = route.value.parts;
  switch (section) {
    case 'incidents':
      return id ? <IncidentDetail id={Number(id)} /> : <Incidents />;
    case 'alerts':
      return <Alerts />;
    case 'hosts':
      return <Hosts selected={id} />;
    case 'hunt':
      return <Hunt />;
    case 'rules':
      return <Rules />;
    case 'response':
      return <ResponsePage />;
    case 'audit':
      return <Audit />;
    case 'settings':
      return <Settings />;
    default:
      return <Overview />;
  }
}

render(<App />, document.getElementById('app')!);
