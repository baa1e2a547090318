import { SEARCH_QUERY_MAX } from "@/lib/search/validation";

interface SearchFormProps {
  /** The query to show (the search page passes what was searched). Default empty. */
  defaultValue?: string;
  /** Id of the input; give each form on one page its own. Default "search-q". */
  id?: string;
}

/**
 * A plain GET form to /search: works without JavaScript, and the URL of the results is
 * the query, so it can be bookmarked and shared. No `required`: an empty search reaches
 * the page, which says what to type rather than the browser's generic bubble.
 */
export function SearchForm({ defaultValue = "", id = "search-q" }: SearchFormProps) {
  return (
    <form action="/search" method="get" role="search" className="search-form">
      <label htmlFor={id} className="field-label">
        Search rooms and messages
      </label>
      <div className="search-row">
        <input
          id={id}
          name="q"
          type="search"
          className="input"
          defaultValue={defaultValue}
          maxLength={SEARCH_QUERY_MAX}
          placeholder="e.g. climbing"
          autoComplete="off"
          enterKeyHint="search"
        />
        <button type="submit" className="button button-primary">
          Search
        </button>
      </div>
    </form>
  );
}
