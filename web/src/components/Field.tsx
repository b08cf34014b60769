import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";

/**
 * A label, one control, a hint and an error under it. The control gets the
 * id, `aria-invalid` and `aria-describedby`, so the error is read with it.
 */
export function Field({
  label,
  hint,
  error,
  children,
  className,
  name,
}: {
  label: string;
  hint?: ReactNode;
  error?: string;
  children: ReactElement<Record<string, unknown>>;
  className?: string;
  /** Used in test ids: `field-<name>` and `error-<name>`. */
  name?: string;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, { id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })
    : children;
  return (
    <div className={`field ${className ?? ""}`} data-testid={name ? `field-${name}` : undefined}>
      <label htmlFor={id}>{label}</label>
      {control}
      {error && (
        <div className="field-error" id={errorId} data-testid={name ? `error-${name}` : undefined}>
          {error}
        </div>
      )}
      {hint && !error && (
        <div className="field-hint" id={hintId}>
          {hint}
        </div>
      )}
    </div>
  );
}
