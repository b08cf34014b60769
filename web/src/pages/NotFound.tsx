import { Link } from "react-router";
import { Empty } from "../components/States";

export function NotFound() {
  return (
    <section className="card">
      <Empty title="Page not found">
        <Link to="/">Back to the dashboard</Link>
      </Empty>
    </section>
  );
}
