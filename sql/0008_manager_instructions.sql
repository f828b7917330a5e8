-- An agent's instructions have one owner: the pool (its instances row, and the instance's own config). The
-- manager's copy was written on spawn and re-instruct but never read.
ALTER TABLE manager_agents DROP COLUMN instructions;
