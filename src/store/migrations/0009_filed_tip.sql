-- The branch's tip when its span was filed: a later span of the same
-- branch with no commit beyond it holds no new change, so it is never a
-- second milestone of the same work. A filing whose milestone is '' was
-- discarded (`mt close --discard`): its events are in no milestone.
ALTER TABLE filings ADD COLUMN tip TEXT;
