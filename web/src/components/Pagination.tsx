import type { ReactNode } from "react";
import { formatCount, formatTotal } from "../lib/numbers";
import styles from "./Pagination.module.css";

export const PAGE_SIZES = [10, 20, 50, 100];

/** "1–20 of 57", page size, previous/next by page number. */
export function Pagination({
  page,
  pageSize,
  total,
  onPage,
  onPageSize,
}: {
  page: number;
  pageSize: number;
  total: number;
  onPage: (page: number) => void;
  onPageSize?: (size: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  return (
    <Bar
      range={`${formatCount(first)}–${formatCount(last)} of ${formatTotal(total)}`}
      pageSize={pageSize}
      onPageSize={onPageSize}
      pageLabel={`Page ${formatCount(page)} of ${formatCount(pages)}`}
      hasPrevious={page > 1}
      hasNext={page < pages}
      onPrevious={() => onPage(page - 1)}
      onNext={() => onPage(page + 1)}
    />
  );
}

/**
 * The same bar for a list walked by cursor: the caller keeps the cursors of
 * the pages before this one, so only the neighbours are reachable. `total`
 * may be a lower bound (the server stops counting), shown as "10,000+".
 */
export function CursorPagination({
  page,
  pageSize,
  shown,
  total,
  totalIsLowerBound,
  hasNext,
  onPrevious,
  onNext,
  onPageSize,
}: {
  /** 1 for the first page. */
  page: number;
  pageSize: number;
  /** Rows on this page. */
  shown: number;
  total: number;
  totalIsLowerBound: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  onPageSize?: (size: number) => void;
}) {
  const first = shown === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = shown === 0 ? 0 : first + shown - 1;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <Bar
      range={`${formatCount(first)}–${formatCount(last)} of ${formatTotal(total, totalIsLowerBound)}`}
      pageSize={pageSize}
      onPageSize={onPageSize}
      pageLabel={`Page ${formatCount(page)} of ${formatTotal(pages, totalIsLowerBound)}`}
      hasPrevious={page > 1}
      hasNext={hasNext}
      onPrevious={onPrevious}
      onNext={onNext}
    />
  );
}

function Bar({
  range,
  pageSize,
  onPageSize,
  pageLabel,
  hasPrevious,
  hasNext,
  onPrevious,
  onNext,
}: {
  range: ReactNode;
  pageSize: number;
  onPageSize?: (size: number) => void;
  pageLabel: ReactNode;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  return (
    <nav className={styles.bar} aria-label="Pagination">
      <span className="muted" data-testid="pagination-range">
        {range}
      </span>
      <div className={styles.controls}>
        {onPageSize && (
          <label className={styles.size}>
            <span className="muted">Rows</span>
            <select className="select" value={pageSize} onChange={(e) => onPageSize(Number(e.target.value))}>
              {PAGE_SIZES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="button" className="btn btn-sm" disabled={!hasPrevious} onClick={onPrevious}>
          ‹ Previous
        </button>
        <span className={styles.page} data-testid="pagination-page">
          {pageLabel}
        </span>
        <button type="button" className="btn btn-sm" disabled={!hasNext} onClick={onNext}>
          Next ›
        </button>
      </div>
    </nav>
  );
}
